import type { SiteHandle } from '../app/site.js';
import { loadSettings, type Settings, type SettingsOverrides } from '../config/index.js';
import { SitecastError, type ProgressEvent, type ProgressListener } from '../kernel/index.js';
import type { CliApp, CliIo } from './cli-io.js';
import { localCliSite, type CliSite } from './cli-site.js';
import { openRemoteSite } from './remote/index.js';
import { timestamp } from './units.js';

/** The options every command accepts (given before or after the command name). */
export interface GlobalOptions {
  readonly home?: string;
  readonly db?: string;
  readonly siteCode?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
  /** AdminService base URL of a remote site (`--server`, else $SITECAST_SERVER). */
  readonly server?: string;
  /** Its API bearer token (`--token`, else $SITECAST_TOKEN). */
  readonly token?: string;
}

/**
 * One CLI run: the settings, the site (opened on first use, closed at the end), output in human or JSON
 * form, and fan-out of the site's progress events and log lines to whoever is drawing them.
 */
export class CliContext {
  readonly #progress = new Set<ProgressListener>();
  readonly #logs = new Set<(line: string) => void>();
  #settings: Settings | undefined;
  #site: Promise<CliSite> | undefined;
  #local: Promise<SiteHandle> | undefined;

  constructor(
    readonly io: CliIo,
    readonly app: CliApp,
    readonly globals: GlobalOptions,
    /** The command line's command (`dp serve`), for messages. */
    readonly command = 'this command',
  ) {}

  /** The remote site's URL when the run works through the AdminService (--server / SITECAST_SERVER). */
  get server(): string | undefined {
    const server = this.globals.server ?? this.io.env.SITECAST_SERVER;
    return server === undefined || server.trim() === '' ? undefined : server.trim();
  }

  /** Refuses --server for what only makes sense on the site server itself (server, demo, dp serve). */
  requireLocal(): void {
    const server = this.server;
    if (server === undefined) return;
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${this.command} runs on the site server itself and cannot be used with --server ${server} (or SITECAST_SERVER)`,
      { field: 'server' },
    );
  }

  /** True with --json: stdout then carries one JSON document and nothing else. */
  get json(): boolean {
    return this.globals.json === true;
  }

  settings(overrides: SettingsOverrides = {}): Settings {
    this.requireLocal();
    this.#settings ??= loadSettings(
      {
        ...(this.globals.home !== undefined && { home: this.globals.home }),
        ...(this.globals.db !== undefined && { db: this.globals.db }),
        ...(this.globals.siteCode !== undefined && { siteCode: this.globals.siteCode }),
        ...overrides,
      },
      this.io.env,
    );
    return this.#settings;
  }

  /** The site the commands work on, opened once per run: --server's through its REST API, else --home/--db's. */
  site(): Promise<CliSite> {
    const server = this.server;
    this.#site ??=
      server === undefined
        ? this.localSite().then(localCliSite)
        : openRemoteSite({
            server,
            token: this.globals.token ?? this.io.env.SITECAST_TOKEN ?? '',
            ...(this.io.shutdown && { signal: this.io.shutdown }),
          });
    return this.#site;
  }

  /** The local site with everything (job worker, database); INVALID_PARAMETER with --server. */
  localSite(): Promise<SiteHandle> {
    this.requireLocal();
    this.#local ??= this.openSite(this.settings());
    return this.#local;
  }

  /** Opens a site whose progress and log lines reach this context's listeners (the demo opens its own). */
  openSite(settings: Settings): Promise<SiteHandle> {
    return this.app.openSite(settings, {
      onProgress: (e: ProgressEvent) => {
        for (const l of this.#progress) l(e);
      },
      log: (line: string) => this.#emitLog(line),
    });
  }

  /** Subscribes to progress events; returns the unsubscribe function. */
  onProgress(listener: ProgressListener): () => void {
    this.#progress.add(listener);
    return () => this.#progress.delete(listener);
  }

  /** Subscribes to the site's log lines (distribution manager, job worker); returns the unsubscribe function. */
  onLog(listener: (line: string) => void): () => void {
    this.#logs.add(listener);
    return () => this.#logs.delete(listener);
  }

  /** Log lines for people: to the log listeners, or with --verbose to stderr. */
  #emitLog(line: string): void {
    if (this.#logs.size > 0) for (const l of this.#logs) l(line);
    else if (this.globals.verbose) this.io.stderr.write(`${timestamp()} ${line}\n`);
  }

  /** What a worker started by this run should log to. */
  readonly workerLog = (line: string): void => this.#emitLog(line);

  /** Human text to stdout (never in --json mode). */
  print(text: string): void {
    if (this.json) return;
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The JSON document of --json mode. */
  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Prints `json()` with --json, else `human()`. */
  result(json: () => unknown, human: () => string): void {
    if (this.json) this.printJson(json());
    else this.print(human());
  }

  warn(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  async close(): Promise<void> {
    const site = this.#local;
    this.#local = undefined;
    this.#site = undefined;
    if (!site) return;
    const handle = await site.catch(() => undefined);
    await handle?.close();
  }
}
