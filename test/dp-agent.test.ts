/**
 * A remote DP end to end: `sitecast dp serve` runs as its own process on a real loopback port, a site adds
 * it with `dp add --url` and distributes an image package to it, then a second version. The agent's
 * folder must present the source byte for byte, and the second version must travel as a delta.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { sha256, testHome, wimV1, wimV2 } from '../src/cli/cli.test-helpers.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sitecast-dp-agent-'));
const agentDir = join(tmp, 'agent');
const home = testHome();
let agent: ChildProcess | undefined;
let output = '';

afterAll(() => {
  if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
  home.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

function waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = pattern.exec(output);
      if (m) {
        clearTimeout(timer);
        agent!.stdout!.off('data', check);
        resolve(m);
      }
      return m !== null;
    };
    const timer = setTimeout(() => reject(new Error(`no ${pattern} from the agent:\n${output}`)), timeoutMs);
    if (!check()) agent!.stdout!.on('data', check);
  });
}

interface StatusJson {
  SMS_PackageStatusDistPointsSummarizer: {
    ServerName: string;
    StateName: string;
    SourceVersion: number;
    BytesSent: number;
  }[];
}

it('distributes two versions of an image to a DP agent process: byte-identical, the second as a delta', async () => {
  const started = Date.now();
  agent = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/app/bin.ts', 'dp', 'serve', '--dir', agentDir, '--port', '0'],
    {
      cwd: repoRoot,
      env: { ...process.env, SITECAST_DP_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => agent!.once('exit', (code) => resolve(code)));
  agent.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  agent.stderr!.on('data', (b: Buffer) => (output += b.toString()));

  // First start: the agent issues its secret, keeps it 0600 in its folder, and says where it listens.
  const secret = (await waitFor(/new DP secret written to \S+agent-secret \(mode 0600\): (\S+)/))[1]!;
  const url = (await waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  expect(output).toMatch(/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d/m);

  const wrong = await home.run([
    'dp',
    'add',
    '--name',
    'DP05',
    '--url',
    url,
    '--secret',
    'not-the-secret-of-this-agent',
  ]);
  expect(wrong.code).toBe(4);
  expect(wrong.stderr).toMatch(/ACCESS_DENIED: .*rejected the secret/);
  await waitFor(/refused GET \/dp\/v1\/health from 127\.0\.0\.1: request signed with key/);
  const nobody = await home.run([
    'dp',
    'add',
    '--name',
    'DP06',
    '--url',
    'http://127.0.0.1:9',
    '--secret',
    secret,
  ]);
  expect(nobody.code).toBe(7);
  expect(nobody.stderr).toMatch(/DP_UNAVAILABLE: .*http:\/\/127\.0\.0\.1:9 is unreachable/);

  // Site first: without --secret the site issues one, adds the DP anyway and says how to start its agent.
  const issued = await home.run(['dp', 'add', '--name', 'DP07', '--url', 'http://127.0.0.1:9']);
  expect(issued.code, issued.stderr).toBe(0);
  const newSecret = /New secret for DP07 \(shown once; the site keeps it\): (\S+)/.exec(issued.stdout)?.[1];
  expect(newSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(issued.stdout).toContain(
    `SITECAST_DP_SECRET='${newSecret}' sitecast dp serve --dir <folder> --port 9 --host 0.0.0.0`,
  );
  expect(issued.stdout).toMatch(/Not reachable with this secret yet: .*unreachable/);
  expect((await home.run(['dp', 'remove', 'DP07'])).code).toBe(0);

  const added = await home.run(['dp', 'add', '--name', 'DP04', '--url', url, '--secret', secret]);
  expect(added.code, added.stderr).toBe(0);
  expect(added.stdout).toContain('accepts the secret');
  const list = await home.run(['dp', 'list']);
  expect(list.stdout).toMatch(new RegExp(`DP04\\s+http\\s+.*${url.replace(/[.:/]/g, '\\$&')}`));
  expect(list.stdout).not.toContain(secret);

  const source = home.putSource(wimV1);
  const created = await home.run(['image', 'new', '--name', 'Win11 remote', '--path', source]);
  expect(created.code, created.stderr).toBe(0);
  const packageId = created.stdout.trim();
  const first = await home.run(['content', 'distribute', packageId, '--dp', 'DP04', '--wait']);
  expect(first.code, first.stderr).toBe(0);
  expect(sha256(join(agentDir, packageId, 'install.wim'))).toBe(sha256(wimV1));
  await waitFor(new RegExp(`${packageId}: SourceVersion 1 active`));

  copyFileSync(wimV2, source);
  const refresh = await home.run(['dp', 'update', packageId, '--wait']);
  expect(refresh.code, refresh.stderr).toBe(0);
  expect(sha256(join(agentDir, packageId, 'install.wim'))).toBe(sha256(wimV2));
  await waitFor(new RegExp(`${packageId}: SourceVersion 2 active`));
  const status = JSON.parse((await home.run(['--json', 'status', packageId])).stdout) as StatusJson;
  const row = status.SMS_PackageStatusDistPointsSummarizer.find((r) => r.ServerName === 'DP04')!;
  expect(row).toMatchObject({ StateName: 'INSTALLED', SourceVersion: 2 });
  expect(row.BytesSent).toBeGreaterThan(0);
  expect(row.BytesSent).toBeLessThan(statSync(wimV2).size / 2);

  agent.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output).toMatch(/stopped\n$/);
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);
