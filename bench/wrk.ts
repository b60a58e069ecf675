/**
 * HTTP load with wrk (C, Debian package `wrk`): one run against one URL with a bearer token (set by a Lua
 * script, as wrk has no header flag that survives its Lua request hook), parsed into requests/s, latency
 * percentiles and errors.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WrkOptions {
  readonly url: string;
  /** From writeAuthScript. */
  readonly script: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
}

export interface WrkResult {
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers outside 2xx/3xx. */
  readonly non2xx: number;
  /** connect, read, write and timeout errors together. */
  readonly socketErrors: number;
  readonly transferPerSec: string;
}

/** A Lua script adding `Authorization: Bearer <token>` to every request. */
export function writeAuthScript(dir: string, token: string): string {
  const path = join(dir, 'wrk-auth.lua');
  writeFileSync(path, `wrk.headers["Authorization"] = "Bearer ${token}"\n`);
  return path;
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    o.script,
    o.url,
  ];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk ${args.join(' ')} exited ${code}:\n${text}`)),
    );
  });
  return parseWrk(out);
}

/** wrk's text output → figures; throws naming the missing line when wrk printed something else. */
export function parseWrk(text: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(text);
    if (!m) throw new Error(`wrk printed no ${what}:\n${text}`);
    return m;
  };
  const pct = (p: string): number => toMs(need(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm'), `${p}% line`)[1]!);
  const stats = need(/^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)/m, 'Latency stats line');
  const done = need(/^\s+(\d+) requests in/m, 'request count');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(done[1]),
    requestsPerSec: Number(need(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    p50Ms: pct('50'),
    p90Ms: pct('90'),
    p99Ms: pct('99'),
    maxMs: toMs(stats[3]!),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((a, n) => a + Number(n), 0) : 0,
    transferPerSec: /^Transfer\/sec:\s+(\S+)/m.exec(text)?.[1] ?? '?',
  };
}

/** `635.91us`, `1.20ms`, `2.01s`, `1.00m` → milliseconds. */
function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!m) throw new Error(`wrk latency ${JSON.stringify(value)} has no known unit`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}
