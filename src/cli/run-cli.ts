import { Command, CommanderError } from 'commander';
import { toSitecastError } from '../kernel/index.js';
import { CliContext, type GlobalOptions } from './cli-context.js';
import type { CliApp, CliIo } from './cli-io.js';
import type { Act } from './command-kit.js';
import { registerContentCommands } from './content.command.js';
import { registerDemoCommand } from './demo.command.js';
import { registerDpCommands } from './dp.command.js';
import { registerDpGroupCommands } from './dp-group.command.js';
import { registerDpSettingsCommands } from './dp-settings.command.js';
import { registerImageCommands } from './image.command.js';
import { registerPackageCommands } from './package.command.js';
import { registerScheduleCommands } from './schedule.command.js';
import { registerServerCommand } from './server.command.js';
import { registerSiteCommands } from './site.command.js';
import { registerStatusCommand } from './status.command.js';
import { registerTokenCommands } from './token.command.js';

/** Exit code of usage errors (unknown command or option, bad option value), as for INVALID_PARAMETER. */
const usageExit = 2;

/** The commander program of one run; `act` binds each command's handler to the run's context. */
export function buildProgram(io: CliIo, app: CliApp, act: Act): Command {
  const program = new Command('sitecast')
    .description('site server for package content distribution (Configuration Manager style)')
    .option(
      '--home <dir>',
      'data folder: site database and content library (default $SITECAST_HOME or ~/.sitecast)',
    )
    .option(
      '--db <path|postgres://…>',
      'site database: SQLite file or PostgreSQL URL (default <home>/site.db)',
    )
    .option('--site-code <XXX>', 'site code used when the database is new (default PS1)')
    .option('--json', 'machine-readable JSON on stdout (SMS_* shaped objects) and nothing else')
    .option('-v, --verbose', 'log the distribution manager lines to stderr while waiting')
    .option(
      '--server <url>',
      'work on a remote site through its AdminService REST API (default $SITECAST_SERVER)',
    )
    .option('--token <token>', 'API bearer token for --server (default $SITECAST_TOKEN)')
    .exitOverride()
    .showHelpAfterError('(run `sitecast --help` or `sitecast <command> --help` for usage)')
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });
  registerImageCommands(program, act);
  registerPackageCommands(program, act);
  registerDpCommands(program, act);
  registerDpSettingsCommands(program, act);
  registerDpGroupCommands(program, act);
  registerContentCommands(program, act);
  registerStatusCommand(program, act);
  registerScheduleCommands(program, act);
  registerServerCommand(program, act);
  registerSiteCommands(program, act);
  registerTokenCommands(program, act);
  registerDemoCommand(program, act, app);
  return program;
}

/**
 * Runs one sitecast command line (`argv` without node and script) and resolves to its exit code. Errors
 * are printed to stderr as `error 0x80041002 NOT_FOUND: <message>` and exit with the catalog's exit code;
 * usage errors print commander's message and exit 2. Never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo, app: CliApp): Promise<number> {
  let ctx: CliContext | undefined;
  let exitCode = 0;
  const act: Act =
    <A extends readonly unknown[]>(handler: (ctx: CliContext, ...args: A) => Promise<number | void>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      ctx = new CliContext(io, app, command.optsWithGlobals<GlobalOptions>(), commandPath(command));
      // commander passes (arguments…, options, command); the handler wants (ctx, arguments…, options).
      const code = await handler(ctx, ...(args.slice(0, -1) as unknown as A));
      exitCode = code ?? 0;
    };
  try {
    await buildProgram(io, app, act).parseAsync([...argv], { from: 'user' });
  } catch (e) {
    exitCode = reportError(e, io, ctx?.globals.verbose === true);
  } finally {
    try {
      await ctx?.close();
    } catch (e) {
      if (exitCode === 0) exitCode = reportError(e, io, false);
    }
  }
  return exitCode;
}

/** `dp serve`, `server`: the command's words after `sitecast`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function reportError(e: unknown, io: CliIo, verbose: boolean): number {
  if (e instanceof CommanderError) {
    // --help ends this way with code 0; commander has already printed its message otherwise.
    return e.exitCode === 0 ? 0 : usageExit;
  }
  const err = toSitecastError(e);
  io.stderr.write(`error ${err.hex} ${err.code}: ${err.message}\n`);
  // Only an unexpected failure (not one of ours) is worth its stack, and only when asked.
  if (verbose && err.code === 'FAILED' && err.cause instanceof Error && err.cause.stack)
    io.stderr.write(`${err.cause.stack}\n`);
  return err.exitCode;
}
