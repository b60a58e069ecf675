/**
 * DP health against real things: a `sitecast dp serve` agent process probed online, SIGKILLed (offline
 * with the error that says why), restarted on the same port (online again); a local-folder DP whose folder
 * is removed (offline). `dp list` shows it, locally and through `--server`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiServer, listenApi } from '../src/api/index.js';
import { openSite, type SiteHandle } from '../src/app/site.js';
import { Roles } from '../src/auth/index.js';
import { Capture, type CliResult } from '../src/cli/cli.test-helpers.js';
import type { CliApp } from '../src/cli/cli-io.js';
import { runCli } from '../src/cli/run-cli.js';
import { loadSettings } from '../src/config/index.js';
import type { DpHealthMonitor } from '../src/distribution/index.js';
import { generateDpSecret } from '../src/dp/index.js';
import { killAllAgents, startAgent, type AgentProcess } from './support/agent-process.js';

const env = { SITECAST_CHUNKER_THREADS: '1' };
const tmp = mkdtempSync(join(tmpdir(), 'sitecast-dp-health-'));
const home = join(tmp, 'home');
const agentDir = join(tmp, 'agent');
const localRoot = join(tmp, 'dp02');
const secret = generateDpSecret();
let site: SiteHandle;
let agent: AgentProcess;
let monitor: DpHealthMonitor;
let api: Awaited<ReturnType<typeof createApiServer>>;
let url: string;
let token: string;
const lines: string[] = [];

beforeAll(async () => {
  site = await openSite(loadSettings({ home }, env));
  agent = await startAgent(agentDir, secret);
  await site.dps.addHttp({ name: 'DP01', url: agent.url, secret });
  await site.dps.addLocal({ name: 'DP02', root: localRoot });
  // Generous: the machine is shared; a dead agent refuses the connection at once anyway.
  monitor = site.createHealthMonitor({ timeoutMs: 20_000, log: (l) => lines.push(l) });
  api = await createApiServer(site);
  url = await listenApi(api, { port: 0, host: '127.0.0.1' });
  token = (await site.tokens.create({ name: 'health', role: Roles.FullAdministrator })).token;
}, 60_000);

afterAll(async () => {
  await killAllAgents();
  await api?.close();
  await site?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function cli(args: readonly string[], app: CliApp = { openSite }): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(args, { stdout, stderr, env }, app);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

interface DpJson {
  readonly Name: string;
  readonly HealthState: string;
  readonly LastHealthError: string | null;
  readonly LastContactTime: string | null;
  readonly LastHealthCheckTime: string | null;
  readonly FreeBytes: number | null;
}

/** `dp list --json` on the site's own database, and the same through the AdminService. */
async function listed(): Promise<{ local: Map<string, DpJson>; remote: Map<string, DpJson> }> {
  const local = await cli(['--home', home, '--json', 'dp', 'list']);
  const remote = await cli(['--server', url, '--token', token, '--json', 'dp', 'list'], {
    openSite: () => Promise.reject(new Error('a --server run opened a local site')),
  });
  expect(local.code, local.stderr).toBe(0);
  expect(remote.code, remote.stderr).toBe(0);
  const byName = (text: string) => new Map((JSON.parse(text) as DpJson[]).map((d) => [d.Name, d]));
  return { local: byName(local.stdout), remote: byName(remote.stdout) };
}

const health = (d: DpJson | undefined) => ({
  HealthState: d?.HealthState,
  LastHealthError: d?.LastHealthError,
  LastContactTime: d?.LastContactTime,
  LastHealthCheckTime: d?.LastHealthCheckTime,
  FreeBytes: d?.FreeBytes,
});

it('shows a DP agent online, offline while killed (with why), and online again once restarted', async () => {
  expect((await listed()).local.get('DP01')?.HealthState).toBe('unknown');

  const first = await monitor.checkAll();
  expect(first.map((r) => [r.dp, r.state])).toEqual([
    ['DP01', 'online'],
    ['DP02', 'online'],
  ]);
  let view = await listed();
  const up = view.local.get('DP01')!;
  expect(up).toMatchObject({ HealthState: 'online', LastHealthError: null });
  expect(up.FreeBytes).toBeGreaterThan(0);
  expect(up.LastContactTime).toBe(up.LastHealthCheckTime);
  expect(health(view.remote.get('DP01'))).toEqual(health(up));

  const table = await cli(['--home', home, 'dp', 'list']);
  expect(table.stdout).toMatch(/Health\s+Last contact\s+Free\s+Last error/);
  expect(table.stdout).toMatch(/DP01 .* online\s+(just now|\d+ s ago)\s+[\d.]+ [KMGT]iB/);

  await agent.kill();
  await monitor.checkAll();
  await monitor.checkAll();
  view = await listed();
  const down = view.local.get('DP01')!;
  expect(down.HealthState).toBe('offline');
  expect(down.LastHealthError).toContain(agent.url);
  expect(down.LastHealthError).toMatch(/unreachable|did not answer/);
  expect(down.LastContactTime).toBe(up.LastContactTime);
  expect(Date.parse(down.LastHealthCheckTime!)).toBeGreaterThan(Date.parse(up.LastHealthCheckTime!));
  expect(health(view.remote.get('DP01'))).toEqual(health(down));
  const remoteTable = await cli(['--server', url, '--token', token, 'dp', 'list']);
  expect(remoteTable.stdout).toMatch(
    /DP01 .* offline\s+(just now|\d+ s ago)\s+[\d.]+ [KMGT]iB\s+health.*unreachable/,
  );

  agent = await startAgent(agentDir, secret, agent.port);
  await monitor.checkAll();
  const back = (await listed()).local.get('DP01')!;
  expect(back.HealthState).toBe('online');
  expect(Date.parse(back.LastContactTime!)).toBeGreaterThan(Date.parse(up.LastContactTime!));
  // The last error stays readable after the DP recovers.
  expect(back.LastHealthError).toBe(down.LastHealthError);

  // One line per change, whatever the number of rounds.
  expect(lines.filter((l) => l.startsWith('DP DP01 '))).toEqual([
    expect.stringMatching(/^DP DP01 health unknown → online \([\d.]+ GiB free\)$/),
    expect.stringMatching(
      /^DP DP01 health online → offline: health: DP agent http:\/\/127\.0\.0\.1:\d+ is unreachable/,
    ),
    expect.stringMatching(/^DP DP01 health offline → online/),
  ]);
}, 120_000);

it('shows a local-folder DP whose folder was removed as offline, naming the folder', async () => {
  rmSync(localRoot, { recursive: true, force: true });
  const round = await monitor.checkAll();
  expect(round.find((r) => r.dp === 'DP02')).toMatchObject({ state: 'offline', previous: 'online' });
  const dp02 = (await listed()).local.get('DP02')!;
  expect(dp02.HealthState).toBe('offline');
  expect(dp02.LastHealthError).toContain(localRoot);
  expect(lines.filter((l) => l.startsWith('DP DP02 '))).toHaveLength(2);
}, 60_000);
