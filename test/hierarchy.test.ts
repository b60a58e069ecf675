/**
 * The hierarchy end to end (issue 5): a CAS, two primaries and a secondary as separate `sitecast server`
 * processes on loopback, each with its own database, content library and local-folder DPs. An image
 * package is refreshed three times at the CAS; every DP of the hierarchy must serve the latest version
 * byte-identical to the source, and the CAS's status must match what each site reports for its DPs.
 *
 * Needs `sitecast server` to take `--role`, `--parent <url>` and `--join-secret <s>` (with the global
 * `--site-code`) and to mount /site/v1 (attachHierarchy/startHierarchy from src/hierarchy).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSite, type SiteHandle } from '../src/app/site.js';
import { PackageType } from '../src/catalog/index.js';
import { loadSettings } from '../src/config/index.js';
import { DpState } from '../src/distribution/index.js';
import { fileSha256 } from './support/assertions.js';
import { captureFolderWim } from './support/make-wim.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const JOIN = 'e2e-join-secret-0123456789';
const MiB = 1024 * 1024;

interface Server {
  readonly code: string;
  readonly home: string;
  readonly child: ChildProcess;
  url: string;
  output: string;
}

const servers: Server[] = [];
const handles: SiteHandle[] = [];
let dir: string;

function startServer(code: string, role: string, parent?: Server): Promise<Server> {
  const home = join(dir, code);
  const args = ['--import', 'tsx', 'src/app/bin.ts', 'server', '--home', home, '--site-code', code];
  args.push('--port', '0', '--role', role, '--join-secret', JOIN);
  if (parent) args.push('--parent', parent.url);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, SITECAST_CHUNKER_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: Server = { code, home, child, url: '', output: '' };
  servers.push(server);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      server.output += chunk.toString('utf8');
      const m = /AdminService REST API at (http:\/\/\S+)\/AdminService/.exec(server.output);
      if (m && !server.url && /distribution manager running/.test(server.output)) {
        server.url = m[1]!;
        resolve(server);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (c) => reject(new Error(`server ${code} exited (${c}):\n${server.output}`)));
  });
}

/** The test's own connection to a server's database (as the CLI opens it). */
async function siteOf(s: Server): Promise<SiteHandle> {
  const h = await openSite(loadSettings({ home: s.home, siteCode: s.code, chunkerThreads: 1 }, {}));
  handles.push(h);
  return h;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 120_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end)
      throw new Error(
        `timed out waiting for ${what}\n${servers.map((s) => `--- ${s.code}\n${s.output}`).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

let cas: Server, p01: Server, p02: Server, s01: Server;
const sites = new Map<string, SiteHandle>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sitecast-hier-e2e-'));
  cas = await startServer('CAS', 'cas');
  p01 = await startServer('P01', 'primary', cas);
  p02 = await startServer('P02', 'primary', cas);
  s01 = await startServer('S01', 'secondary', p01);
  for (const s of [cas, p01, p02, s01]) sites.set(s.code, await siteOf(s));
  for (const code of ['P01', 'P02', 'S01'])
    for (const dp of ['DP01', 'DP02'])
      await sites.get(code)!.dps.addLocal({ name: dp, root: join(dir, 'dps', code, dp) });
}, 120_000);

afterAll(async () => {
  for (const h of handles) await h.close();
  for (const s of servers) s.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

it('replicates three refreshes of an image package to every DP of CAS → 2 primaries → 1 secondary', async () => {
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'big.bin'), randomBytes(4 * MiB));
  const wim = captureFolderWim(tree, join(dir, 'source', 'install.wim'));
  const top = sites.get('CAS')!;
  const pkg = await top.packages.create(PackageType.SMS_ImagePackage, {
    Name: 'Windows',
    PkgSourcePath: wim,
    ImageIndex: 1,
  });
  await top.distribution.refreshPkgSource(pkg.packageId);
  for (const code of ['P01', 'P02', 'S01'])
    await waitFor(`metadata at ${code}`, () => sites.get(code)!.packages.find(pkg.packageId));
  for (const code of ['P01', 'P02', 'S01'])
    await sites.get(code)!.distribution.addDistributionPoints(pkg.packageId, ['DP01', 'DP02']);
  for (let v = 1; v <= 3; v++) {
    if (v > 1) {
      writeFileSync(join(tree, `change-${v}.txt`), randomBytes(64 * 1024));
      rmSync(wim);
      captureFolderWim(tree, wim);
      await top.distribution.refreshPkgSource(pkg.packageId);
    }
    await waitFor(`6 DPs at SourceVersion ${v} seen from the CAS`, async () => {
      const rows = await top.status.hierarchyDpStatus(pkg.packageId);
      return rows.length === 6 && rows.every((r) => r.State === DpState.INSTALLED && r.SourceVersion === v);
    });
  }
  const want = await fileSha256(wim);
  for (const code of ['P01', 'P02', 'S01'])
    for (const dp of ['DP01', 'DP02'])
      expect(await fileSha256(join(dir, 'dps', code, dp, pkg.packageId, 'install.wim'))).toBe(want);
  const status = await top.status.hierarchyStatus(pkg.packageId);
  for (const code of ['P01', 'P02', 'S01']) {
    const own = (await sites.get(code)!.status.distPointStatus(pkg.packageId)).filter(
      (r) => r.SiteCode === code,
    );
    expect(
      status.dps.filter((r) => r.SiteCode === code).map((r) => [r.ServerName, r.State, r.SourceVersion]),
    ).toEqual(own.map((r) => [r.ServerName, r.State, r.SourceVersion]));
  }
  expect(
    status.sites
      .filter((s) => s.SiteCode !== 'CAS')
      .map((s) => [s.SiteCode, s.Installed, s.SourceVersion])
      .sort(),
  ).toEqual([
    ['P01', 2, 3],
    ['P02', 2, 3],
    ['S01', 2, 3],
  ]);
}, 300_000);

it('a primary SIGKILLed during replication and down through two refreshes catches up with one delta', async () => {
  const top = sites.get('CAS')!;
  const [pkg] = await top.packages.list();
  const packageId = pkg!.packageId;
  const wim = pkg!.pkgSourcePath!;
  const tree = join(dir, 'tree');
  const rewrite = async (v: number): Promise<void> => {
    writeFileSync(join(tree, `change-${v}.txt`), randomBytes(256 * 1024));
    rmSync(wim);
    captureFolderWim(tree, wim);
    await top.distribution.refreshPkgSource(packageId);
  };
  // Refresh 4 starts replicating; P02 dies under it (SIGKILL, no goodbye), then misses refresh 5.
  const mark = cas.output.length;
  await rewrite(4);
  await waitFor('replication of version 4 to P02 claimed', () =>
    Promise.resolve(/claimed replicate P02:/.test(cas.output.slice(mark))),
  );
  p02.child.kill('SIGKILL');
  await new Promise((r) => p02.child.once('exit', r));
  await waitFor('version 4 at P01 and S01', async () => {
    const rows = (await top.status.hierarchyDpStatus(packageId)).filter((r) => r.SiteCode !== 'P02');
    return rows.length === 4 && rows.every((r) => r.State === DpState.INSTALLED && r.SourceVersion === 4);
  });
  await rewrite(5);
  await waitFor('version 5 at P01 and S01', async () => {
    const rows = (await top.status.hierarchyDpStatus(packageId)).filter((r) => r.SiteCode !== 'P02');
    return rows.length === 4 && rows.every((r) => r.State === DpState.INSTALLED && r.SourceVersion === 5);
  });
  const p02Site = sites.get('P02')!;
  const before = (await p02Site.packages.listVersions(packageId)).map((v) => v.sourceVersion);
  expect(before.at(-1)).toBeLessThanOrEqual(4);
  p02 = await startServer('P02', 'primary', cas);
  await waitFor('version 5 on both P02 DPs', async () => {
    const rows = (await top.status.hierarchyDpStatus(packageId)).filter((r) => r.SiteCode === 'P02');
    return rows.length === 2 && rows.every((r) => r.State === DpState.INSTALLED && r.SourceVersion === 5);
  });
  const after = (await p02Site.packages.listVersions(packageId))
    .map((v) => v.sourceVersion)
    .sort((a, b) => a - b);
  // No version lost or duplicated, and 5 arrived as one delta: never 4 and 5 both after the outage began.
  expect(new Set(after).size).toBe(after.length);
  expect(after.at(-1)).toBe(5);
  expect(after.filter((v) => v > 3)).toEqual(before.includes(4) ? [4, 5] : [5]);
  const want = await fileSha256(wim);
  for (const dp of ['DP01', 'DP02'])
    expect(await fileSha256(join(dir, 'dps', 'P02', dp, packageId, 'install.wim'))).toBe(want);
}, 300_000);
