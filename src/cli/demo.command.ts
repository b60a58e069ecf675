import type { Command } from 'commander';
import type { CliApp } from './cli-io.js';
import type { Act } from './command-kit.js';

/** `demo [--dir]`: the command only; the story itself lives in the composition root (src/app/demo.ts). */
export function registerDemoCommand(program: Command, act: Act, app: CliApp): void {
  const runDemo = app.runDemo;
  if (!runDemo) return;
  program
    .command('demo')
    .description(
      'the whole image-refresh story on a throw-away site: 3 DPs, distribute, change the WIM, RefreshPkgSource',
    )
    .option('--dir <dir>', 'an empty or new folder for the demo site (default: a fresh temp folder)')
    .action(
      act(async (ctx, o: { readonly dir?: string }) =>
        runDemo(o.dir === undefined ? {} : { dir: o.dir }, ctx),
      ),
    );
}
