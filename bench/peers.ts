/**
 * Peer commands (openssl, casync, rsync): making sure they are installed, and running them under
 * GNU time so their CPU and peak RSS are measured the same way as a child of ours.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerTool } from './benchmark.js';
import type { Measurement } from './timing.js';

const gnuTime: PeerTool = { command: '/usr/bin/time', aptPackage: 'time' };

function installed(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v '${command}'`], { stdio: 'ignore' }).status === 0;
}

/** Installs missing peers from Debian (apt-get); throws naming the tool when that fails. */
export function ensurePeers(tools: readonly PeerTool[], log: (line: string) => void): void {
  const missing = [gnuTime, ...tools].filter((t) => !installed(t.command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => t.aptPackage))];
  log(`installing ${packages.join(', ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): boolean =>
    spawnSync('apt-get', ['install', '-y', ...packages], { stdio: 'inherit', env }).status === 0;
  if (!install()) {
    // A fresh container has no package lists yet.
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
  const still = missing.filter((t) => !installed(t.command));
  if (still.length > 0)
    throw new Error(
      `peer command(s) ${still.map((t) => t.command).join(', ')} missing and apt-get could not install ` +
        `${packages.join(', ')}; install them and run the benchmark again`,
    );
}

/** The first line of `<command> <args>` (a version banner), for the report. */
export function peerVersion(command: string, args: readonly string[] = ['--version']): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  const line = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '');
  return line?.trim() ?? 'unknown';
}

export interface TimedRun extends Measurement {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command under `/usr/bin/time`: wall time, user + system CPU of the command and every child it
 * waited for, and its peak RSS. Asynchronous, so this process keeps sampling the load meanwhile.
 */
export async function runTimed(command: string, args: readonly string[]): Promise<TimedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sitecast-bench-time-'));
  const timeFile = join(dir, 'time');
  try {
    const started = performance.now();
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (c) =>
        resolve({
          code: c,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }),
      );
    });
    const wallMs = performance.now() - started;
    const timeText = readFileSync(timeFile, 'utf8').trim();
    if (code !== 0)
      throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim() || timeText}`);
    // With -o, GNU time writes only our format line (possibly after a "Command exited…" line).
    const last = timeText.split('\n').pop() ?? '';
    const [, user, sys, rssKib] = last.split(' ').map(Number);
    if ([user, sys, rssKib].some((n) => n === undefined || !Number.isFinite(n)))
      throw new Error(`cannot parse /usr/bin/time output for ${command}: ${JSON.stringify(timeText)}`);
    return {
      // Our own clock: GNU time's %e has 10 ms resolution.
      wallMs,
      cpuMs: (user! + sys!) * 1000,
      maxRssBytes: rssKib! * 1024,
      stdout,
      stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
