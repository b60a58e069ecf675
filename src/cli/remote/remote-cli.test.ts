/**
 * The CLI against a remote site: a real AdminService on 127.0.0.1 over a site whose job worker plays the
 * server, and the same admin session run locally (--home) and remotely (--server/--token), outputs compared.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, listenApi } from '../../api/index.js';
import { openSite, type SiteHandle } from '../../app/site.js';
import { Roles } from '../../auth/index.js';
import { loadSettings } from '../../config/index.js';
import type { JobWorker } from '../../jobs/index.js';
import { Capture, sha256, wimV1, type CliResult } from '../cli.test-helpers.js';
import type { CliApp, CliIo } from '../cli-io.js';
import { runCli } from '../run-cli.js';

const env = { SITECAST_CHUNKER_THREADS: '1' };

/** A CliApp that must not be used: a --server run opens no local site. */
const noLocalSite: CliApp = {
  openSite: () => Promise.reject(new Error('a --server run opened a local site')),
};

async function run(
  args: readonly string[],
  app: CliApp,
  extraEnv: Record<string, string> = {},
): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: CliIo = { stdout, stderr, env: { ...env, ...extraEnv } };
  const code = await runCli(args, io, app);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** What legitimately differs between two sites: their folders, times, group GUIDs, table padding. */
function normalize(text: string, dir: string): string {
  return text
    .split(dir)
    .join('<dir>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<time>')
    .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?/g, '<time>')
    .replace(/just now|\d+ (s|min|h|d) ago/g, '<ago>')
    .replace(/\{[0-9A-F-]{36}\}/g, '<guid>')
    .replace(/[ \t]+/g, ' ');
}

describe('sitecast --server (CLI over the AdminService REST API)', () => {
  let serverDir: string;
  let localDir: string;
  let site: SiteHandle;
  let api: Awaited<ReturnType<typeof createApiServer>>;
  let worker: JobWorker;
  let url: string;
  let token: string;

  beforeAll(async () => {
    serverDir = mkdtempSync(join(tmpdir(), 'sitecast-remote-server-'));
    localDir = mkdtempSync(join(tmpdir(), 'sitecast-remote-local-'));
    site = await openSite(loadSettings({ home: join(serverDir, 'home') }, env));
    api = await createApiServer(site);
    url = await listenApi(api, { port: 0, host: '127.0.0.1' });
    token = (await site.tokens.create({ name: 'cli', role: Roles.FullAdministrator })).token;
    // The server's distribution manager: remote --wait only watches.
    worker = site.createWorker({ pollMs: 50 });
    worker.start();
    for (const dir of [serverDir, localDir]) {
      mkdirSync(join(dir, 'source'), { recursive: true });
      copyFileSync(wimV1, join(dir, 'source', 'install.wim'));
    }
  });

  afterAll(async () => {
    await worker.stop();
    await api.close();
    await site.close();
    rmSync(serverDir, { recursive: true, force: true });
    rmSync(localDir, { recursive: true, force: true });
  });

  const remote = (args: readonly string[]): Promise<CliResult> =>
    run(['--server', url, '--token', token, ...args], noLocalSite);
  const local = (args: readonly string[]): Promise<CliResult> =>
    run(['--home', join(localDir, 'home'), ...args], { openSite });

  /** Runs a command on both sites (paths under each one's folder) and expects the same result. */
  async function both(args: (dir: string) => readonly string[], code = 0): Promise<CliResult> {
    const l = await local(args(localDir));
    const r = await remote(args(serverDir));
    expect({ code: r.code, stderr: r.stderr }, `${args('<dir>').join(' ')}: ${r.stderr}`).toMatchObject({
      code,
    });
    expect(normalize(r.stdout, serverDir), args('<dir>').join(' ')).toBe(normalize(l.stdout, localDir));
    expect(normalize(r.stderr, serverDir), args('<dir>').join(' ')).toBe(normalize(l.stderr, localDir));
    return r;
  }

  /** --json --wait answers: the same document once transfer timings are left out. */
  async function bothJson(args: readonly string[], code = 0): Promise<unknown> {
    const l = await local(['--json', ...args]);
    const r = await remote(['--json', ...args]);
    expect(r.code, r.stderr).toBe(code);
    expect(l.code, l.stderr).toBe(code);
    const timeless = (text: string, dir: string): unknown =>
      JSON.parse(normalize(text, dir), (k, v: unknown) => (k === 'TransferRate' ? 0 : v));
    const doc = timeless(r.stdout, serverDir);
    expect(doc).toEqual(timeless(l.stdout, localDir));
    return doc;
  }

  it('runs an admin session with the same tables, JSON and exit codes as on the site server', async () => {
    const created = await both((d) => [
      'image',
      'new',
      '--name',
      'Win11',
      '--path',
      join(d, 'source', 'install.wim'),
      '--version',
      '23H2',
    ]);
    const id = created.stdout.trim();
    expect(id).toMatch(/^PS1[0-9A-F]{5}$/);
    const shown = await both(() => ['image', 'show', id]);
    expect(shown.stdout).toMatch(/Index\s+Name\s+Edition/);
    await bothJson(['image', 'show', id]);

    for (const dp of ['DP01', 'DP02'])
      await both((d) => ['dp', 'add', '--name', dp, '--path', join(d, 'dps', dp)]);
    await both(() => ['dp-group', 'new', '--name', 'Branches', '--description', 'EU']);
    await both(() => ['dp-group', 'add-dp', 'branches', '--dp', 'DP02']);

    const sent = (await bothJson(['content', 'distribute', id, '--dp', 'DP01', '--wait'])) as {
      ReturnValue: number;
      SMS_PackageStatusDistPointsSummarizer: { ServerName: string; StateName: string }[];
    };
    expect(sent.ReturnValue).toBe(0);
    expect(sent.SMS_PackageStatusDistPointsSummarizer).toMatchObject([
      { ServerName: 'DP01', StateName: 'INSTALLED' },
    ]);
    expect(sha256(join(serverDir, 'dps', 'DP01', id, 'install.wim'))).toBe(sha256(wimV1));

    const status = await both(() => ['status', id, '--messages', '3']);
    expect(status.stdout).toMatch(/DP01\s+INSTALLED \(0\)/);
    await both(() => ['dp', 'list']);
    await bothJson(['dp', 'list']);

    const set = await both(() => ['package', 'set', id, '--description', 'January build', '--priority', '1']);
    expect(set.stdout).toMatch(new RegExp(`^${id} updated`));
    await both(() => ['package', 'show', id]);
    await both(() => ['package', 'list']);
    await bothJson(['package', 'list', '--type', 'image']);

    const grouped = (await bothJson(['dp-group', 'add-package', 'Branches', id, '--wait'])) as {
      ReturnValue: number;
    };
    expect(grouped.ReturnValue).toBe(0);
    expect(sha256(join(serverDir, 'dps', 'DP02', id, 'install.wim'))).toBe(sha256(wimV1));
    const detail = await both(() => ['dp-group', 'show', 'Branches']);
    expect(detail.stdout).toContain(`Packages: ${id}`);
    await bothJson(['dp-group', 'show', 'Branches']);
    await both(() => ['dp-group', 'list']);
    await both(() => ['dp-group', 'set', 'Branches', '--description', 'Europe']);

    const dpSet = await both(() => [
      'dp',
      'set',
      'DP01',
      '--rate-limit',
      '4MB/s',
      '--window',
      'Mon-Fri 08-18 closed',
      '--time-zone',
      'Europe/Berlin',
      '--maintenance',
      'on',
      '--validation-schedule',
      '00011A8500100008',
    ]);
    expect(dpSet.stdout).toContain('maintenance mode ON');
    await bothJson([
      'dp',
      'set',
      'DP01',
      '--maintenance',
      'off',
      '--validation-schedule',
      'none',
      // Open the week again: the office-hours window above would hold DP01's transfers, depending on the time of day.
      '--window',
      'Sun 00-24 all',
    ]);

    const refreshed = (await bothJson(['dp', 'update', id, '--wait'])) as {
      ReturnValue: number;
      JobID: number;
    };
    expect(refreshed).toMatchObject({ ReturnValue: 0 });
    expect(refreshed.JobID).toBeGreaterThan(0);
    const validated = (await bothJson(['content', 'validate', id, '--dp', 'DP02', '--wait'])) as {
      SMS_DistributionDPStatus: { ServerName: string; Text: string };
    };
    expect(validated.SMS_DistributionDPStatus.ServerName).toBe('DP02');
    await both(() => ['content', 'remove', id, '--dp', 'DP01']);

    // Failures: the same code, message and exit code as locally.
    const missing = await both(() => ['status', 'PS1FFFFF'], 3);
    expect(missing.stderr).toContain('error 0x80041002 NOT_FOUND: package PS1FFFFF does not exist');
    await both(() => ['dp-group', 'show', 'Nope'], 3);
    await both(() => ['content', 'distribute', id, '--dp', 'DP99'], 3);
    await both(() => ['package', 'set', id, '--name', 'x', '--sedo', '999'], 5);
    await both(() => ['package', 'list', '--type', 'driver'], 2);

    const tokens = await remote(['token', 'list']);
    expect(tokens.code, tokens.stderr).toBe(0);
    expect(tokens.stdout).toMatch(/1\s+cli\s+Full Administrator\s+sct_/);
    expect(tokens.stdout).not.toMatch(/cli.*never\s+never/);
    const made = await remote(['--json', 'token', 'create', '--name', 'ci', '--role', 'readonly']);
    const madeJson = JSON.parse(made.stdout) as { Name: string; Role: string; Token: string };
    expect(madeJson).toMatchObject({ Name: 'ci', Role: 'Read-only Analyst' });
    expect(madeJson.Token).toMatch(/^sct_/);
    const revoked = await remote(['token', 'revoke', 'CI']);
    expect(revoked.stdout).toBe('token 2 "ci" revoked\n');
    const audit = await remote(['--json', 'audit', '--limit', '5']);
    // Newest first: the token revoked and created, the refused --sedo update, then the content removal.
    const entries = (JSON.parse(audit.stdout) as { value: Record<string, unknown>[] }).value;
    expect(entries.slice(0, 4)).toMatchObject([
      { Action: 'delete', ClassName: 'SMS_AdminToken', Target: '2' },
      { Action: 'create', ClassName: 'SMS_AdminToken' },
      {
        Principal: 'cli',
        Action: 'update',
        ClassName: 'SMS_ImagePackage',
        Target: id,
        ReturnValue: 0x80041001,
      },
      { Principal: 'cli', Action: 'delete', ClassName: 'SMS_DistributionPoint', ReturnValue: 0 },
    ]);
    // Two whole admin sessions with --wait transfers: ~10 s alone, several times that beside the suite.
  }, 240_000);

  it('reads the server and token from SITECAST_SERVER and SITECAST_TOKEN', async () => {
    const r = await run(['dp', 'list'], noLocalSite, { SITECAST_SERVER: url, SITECAST_TOKEN: token });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DP01\s+local/);
  });

  it('surfaces a wrong or missing token as the server’s 401 (exit 4)', async () => {
    const wrong = await run(['--server', url, '--token', 'sct_nope', 'package', 'list'], noLocalSite);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/^error 0x80041003 UNAUTHENTICATED: http:\/\/127\.0\.0\.1:\d+: .*--token/);
    const none = await run(['--server', url, 'package', 'list'], noLocalSite);
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('Authorization: Bearer');
  });

  it('names the URL when the server cannot be reached, without hanging', async () => {
    const closed = await createApiServer(site);
    const deadUrl = await listenApi(closed, { port: 0, host: '127.0.0.1' });
    await closed.close();
    const started = Date.now();
    const r = await run(['--server', deadUrl, '--token', token, 'status', 'PS100001'], noLocalSite);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`SITE_UNAVAILABLE: site server ${deadUrl} cannot be reached (ECONNREFUSED)`);
  });

  it('refuses --server for what runs only on the site server', async () => {
    for (const args of [['server'], ['dp', 'serve', '--dir', join(localDir, 'agent')]]) {
      const r = await run(['--server', url, '--token', token, ...args], noLocalSite);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        `INVALID_PARAMETER: ${args
          .slice(0, 2)
          .filter((a) => !a.startsWith('-'))
          .join(' ')} runs on the site server itself`,
      );
    }
  });
});
