import type { OpenSiteOptions, SiteHandle } from '../app/site.js';
import type { Settings } from '../config/index.js';
import type { CliContext } from './cli-context.js';

/** A stream the CLI writes to; a TTY stdout gets live progress bars. */
export type CliStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** The surroundings of one CLI run: where output goes, the environment, and the stop request. */
export interface CliIo {
  readonly stdout: CliStream;
  readonly stderr: CliStream;
  /** Read for SITECAST_* settings (the CLI itself never touches process.env). */
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: `server` stops gracefully, `--wait` stops waiting. */
  readonly shutdown?: AbortSignal;
}

export interface DemoCommandOptions {
  /** Folder for the demo site; a fresh temp folder when absent. */
  readonly dir?: string;
}

/**
 * What the CLI needs from the composition root (src/app), passed in because app depends on cli and not
 * the other way round.
 */
export interface CliApp {
  readonly openSite: (settings: Settings, options: OpenSiteOptions) => Promise<SiteHandle>;
  /** `sitecast demo`; the command is absent when not given. Resolves to the exit code. */
  readonly runDemo?: (options: DemoCommandOptions, ctx: CliContext) => Promise<number>;
}
