/**
 * `sitecast dp serve` as a child process (through tsx, from source) for multi-process tests: start it on
 * a folder with a given secret, wait for its URL, SIGKILL or stop it, restart it on the same port.
 * Every child is tracked so `killAllAgents()` leaves no stray process whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpDpAdapter } from '../../src/dp/index.js';
import { plannedChunks } from './folder-dp-inspect.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const live = new Set<ChildProcess>();

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly secret: string;
  output(): string;
  /** A signed client of this agent (stats, status). */
  adapter(): HttpDpAdapter;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts an agent on `dir` (port 0: a free one) and resolves once it listens; `args` go to `dp serve`. */
export async function startAgent(
  dir: string,
  secret: string,
  port = 0,
  args: readonly string[] = [],
): Promise<AgentProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/app/bin.ts', 'dp', 'serve', '--dir', dir, '--port', String(port), ...args],
    { cwd: repoRoot, env: { ...process.env, SITECAST_DP_SECRET: secret }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  let out = '';
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`agent on ${dir} did not start within 30 s:\n${out}`)),
      30_000,
    );
    const check = (): void => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`agent on ${dir} exited before it listened:\n${out}`));
    });
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    dir,
    secret,
    output: () => out,
    adapter: () => new HttpDpAdapter({ url, secret }),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export async function killAllAgents(): Promise<void> {
  await Promise.all(
    [...live].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

/**
 * Verified chunks (count, bytes) waiting in an agent folder for a pending version of `packageId`: the
 * frames `[32-byte id][u32 LE length][bytes]` of its renamed `<seq>.chunks` batch files (temp files of
 * writes in progress excluded; a zeroed id is a dropped chunk), and the chunks of its planned version
 * whose every place in `planned/<pkg>/tree` holds their bytes (what the agent finds again after a restart).
 */
export function landedChunks(dir: string, packageId: string): { chunks: number; bytes: number } {
  const ids = plannedChunks(dir, packageId);
  const incoming = join(dir, '.sitecast', 'incoming', packageId);
  let names: string[] = [];
  try {
    names = readdirSync(incoming).filter((n) => /^\d+\.chunks$/.test(n));
  } catch {
    // No batch file.
  }
  for (const n of names) {
    const file = readFileSync(join(incoming, n));
    for (let at = 0; at + 36 <= file.length;) {
      const size = file.readUInt32LE(at + 32);
      if (at + 36 + size > file.length) break;
      const id = file.toString('hex', at, at + 32);
      if (!/^0+$/.test(id)) ids.set(id, size);
      at += 36 + size;
    }
  }
  let bytes = 0;
  for (const size of ids.values()) bytes += size;
  return { chunks: ids.size, bytes };
}

/** Polls `probe` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
