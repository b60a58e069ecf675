/**
 * `sitecast server` as a child process (through tsx, from source), for multi-process tests: spawn it,
 * wait until its job worker runs, stop it gracefully or SIGKILL it. Every child started here is tracked,
 * so `killAllServers()` in afterEach/afterAll leaves no stray process whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const live = new Set<ServerProcess>();

export interface ServerOptions {
  readonly home: string;
  /** SQLite path or postgres:// URL; default the home's site.db. */
  readonly db?: string;
  /** Extra environment (e.g. SITECAST_LEASE_MS). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ServerProcess {
  readonly child: ChildProcess;
  /** Epoch ms at which the worker announced it runs (its "distribution manager running" line). */
  readonly running: Promise<number>;
  readonly exited: Promise<ServerExit>;
  #output = '';

  constructor(options: ServerOptions) {
    // --port 0: several servers run at once, each API on a free port.
    const args = ['--import', 'tsx', 'src/app/bin.ts', 'server', '--home', options.home, '--port', '0'];
    if (options.db) args.push('--db', options.db);
    this.child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this);
        resolve({ code, signal });
      });
    });
    this.running = new Promise((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.#output += chunk.toString('utf8');
        if (/distribution manager running/.test(this.#output)) resolve(Date.now());
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', onData);
      void this.exited.then((e) =>
        reject(new Error(`sitecast server exited (${e.code ?? e.signal}) before it ran:\n${this.#output}`)),
      );
    });
    // A rejection nobody awaits (a child killed before it ran) is not a test failure by itself.
    this.running.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Everything the server wrote so far (stdout and stderr interleaved). */
  get output(): string {
    return this.#output;
  }

  /**
   * Resolves with the epoch ms at which `pattern` first appeared in the output after character `from`;
   * rejects when the process ends first or after `timeoutMs`.
   */
  waitForOutput(pattern: RegExp, from: number, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => pattern.test(this.#output.slice(from));
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.child.stdout!.off('data', onData);
        this.child.stderr!.off('data', onData);
        if (error) reject(error);
        else resolve(Date.now());
      };
      // Runs after the constructor's listener, so the output already holds this chunk.
      const onData = (): void => {
        if (check()) done();
      };
      const timer = setTimeout(
        () => done(new Error(`no ${pattern} from sitecast server within ${timeoutMs} ms:\n${this.#output}`)),
        timeoutMs,
      );
      if (check()) return done();
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', onData);
      void this.exited.then(() => {
        if (!check()) done(new Error(`sitecast server exited before ${pattern}:\n${this.#output}`));
      });
    });
  }

  /** Sends `signal` and waits for the process to end (the output is complete then). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ServerExit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const exit = await this.exited;
    await Promise.all([streamEnd(this.child.stdout), streamEnd(this.child.stderr)]);
    return exit;
  }
}

function streamEnd(stream: Readable | null): Promise<void> {
  if (!stream || stream.closed || stream.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}

export function spawnServer(options: ServerOptions): ServerProcess {
  return new ServerProcess(options);
}

/** SIGKILLs every server child still alive and waits for each to end. */
export async function killAllServers(): Promise<void> {
  await Promise.all([...live].map((s) => s.kill('SIGKILL')));
}
