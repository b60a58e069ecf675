import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, fileSha256 } from '../../test/support/assertions.js';
import { dpRoot } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import { openSite } from '../app/site.js';
import { Capture } from '../cli/cli.test-helpers.js';
import { runCli } from '../cli/run-cli.js';
import { signRequest } from '../dp/index.js';
import { systemClock } from '../kernel/index.js';
import {
  changeAt,
  installedEverywhere,
  JOIN_SECRET,
  startNode,
  waitFor,
  writeRandom,
  type SiteNode,
} from './hierarchy.test-helpers.js';

const MiB = 1024 * 1024;

describe('site hierarchy: CAS → primaries → secondary, in process', () => {
  let cas: SiteNode;
  let p01: SiteNode;
  let p02: SiteNode;
  let s01: SiteNode;
  let source: string;
  let packageId: string;

  beforeAll(async () => {
    cas = await startNode('CAS', 'cas');
    p01 = await startNode('P01', 'primary', cas, { dps: 2 });
    p02 = await startNode('P02', 'primary', cas);
    s01 = await startNode('S01', 'secondary', p01, { dps: 1 });
    mkdirSync(join(cas.t.dir, 'src'));
    source = join(cas.t.dir, 'src', 'install.wim');
    writeRandom(source, 6 * MiB);
    const pkg = await cas.t.site.packages.create(PackageType.SMS_Package, {
      Name: 'Image',
      PkgSourcePath: join(cas.t.dir, 'src'),
    });
    packageId = pkg.packageId;
  }, 60_000);
  afterAll(async () => {
    for (const n of [s01, p02, p01, cas]) await n?.close();
  });

  it('lists each child with role, version, last contact and state; a CAS refuses DPs', async () => {
    const children = await cas.t.site.hierarchy.listChildren();
    expect(children.map((c) => [c.siteCode, c.role, c.version, c.state])).toEqual([
      ['P01', 'primary', '0.1.0', 'active'],
      ['P02', 'primary', '0.1.0', 'active'],
    ]);
    expect(children.every((c) => c.lastContact !== null)).toBe(true);
    expect((await p01.t.site.hierarchy.listChildren()).map((c) => [c.siteCode, c.role])).toEqual([
      ['S01', 'secondary'],
    ]);
    expect(await codeOf(cas.t.addDps(1))).toBe('INVALID_PARAMETER');
    expect(await cas.t.site.dps.list()).toEqual([]);
  });

  it('shows the children and the tree with `site list` and `site tree`', async () => {
    const cli = async (n: SiteNode, args: string[]) => {
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await runCli(
        ['--home', join(n.t.dir, 'home'), '--db', n.t.database.url, '--site-code', n.code, ...args],
        { stdout, stderr, env: {} },
        { openSite },
      );
      expect(stderr.text).toBe('');
      expect(code).toBe(0);
      return stdout.text;
    };
    const list = JSON.parse(await cli(cas, ['--json', 'site', 'list'])) as {
      Children: { SiteCode: string; Type: string; State: string }[];
    };
    expect(list.Children.map((c) => [c.SiteCode, c.Type, c.State])).toEqual([
      ['P01', 'primary', 'active'],
      ['P02', 'primary', 'active'],
    ]);
    // S01 is known at the CAS only through P01's status reports.
    await waitFor('S01 reported to the CAS', async () =>
      (await cas.t.site.hierarchy.reports.sites()).some((r) => r.siteCode === 'S01' && r.viaChild === 'P01'),
    );
    expect(await cli(cas, ['site', 'tree'])).toBe(
      [
        'CAS (cas, local)',
        '├─ P01 (primary, active)',
        '│  └─ S01 (secondary, reported)',
        '└─ P02 (primary, active)',
        '',
      ].join('\n'),
    );
  });

  it('refuses a join or a call with a wrong or missing secret, and changes nothing', async () => {
    const body = Buffer.from(
      JSON.stringify({ siteCode: 'X01', role: 'primary', url: 'http://127.0.0.1:9', version: '0' }),
    );
    const send = async (secret: string | null, path = '/site/v1/join', site = 'X01') => {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-sitecast-site': site };
      if (secret)
        Object.assign(
          headers,
          signRequest({ secret, method: 'POST', pathAndQuery: path, body, clock: systemClock }),
        );
      const r = await fetch(cas.url + path, { method: 'POST', headers, body });
      return r.status;
    };
    expect(await send(null)).toBe(401);
    expect(await send('not-the-join-secret-at-all')).toBe(401);
    // A joined child's name with the join secret instead of its link secret.
    expect(await send(JOIN_SECRET, '/site/v1/status', 'P01')).toBe(401);
    expect((await cas.t.site.hierarchy.listChildren()).map((c) => c.siteCode)).toEqual(['P01', 'P02']);
  });

  it('sends metadata everywhere and content only where a DP is targeted, down to the secondary', async () => {
    await cas.t.site.distribution.refreshPkgSource(packageId);
    // Metadata reaches every site, secondaries through their primary.
    for (const n of [p01, p02, s01])
      await waitFor(`${packageId} metadata at ${n.code}`, () => n.t.site.packages.find(packageId));
    expect((await p01.t.site.packages.get(packageId)).sourceSite).toBe('CAS');
    await p01.t.site.distribution.addDistributionPoints(packageId, ['DP01', 'DP02']);
    await s01.t.site.distribution.addDistributionPoints(packageId, ['DP01']);
    await installedEverywhere(cas, packageId, 3, 1);
    // P02 has no DP targeted: metadata only, no content.
    expect((await p02.t.site.packages.get(packageId)).sourceVersion).toBe(0);
    expect(p02.t.site.library.chunks.stats().chunks).toBe(0);
  }, 60_000);

  it('replicates each refresh to every DP of the hierarchy, byte-identical, and the CAS status matches', async () => {
    for (const v of [2, 3]) {
      changeAt(source, v * MiB, 64 * 1024);
      await cas.t.site.distribution.refreshPkgSource(packageId);
      await installedEverywhere(cas, packageId, 3, v);
    }
    const want = await fileSha256(source);
    for (const [n, dp] of [
      [p01, 'DP01'],
      [p01, 'DP02'],
      [s01, 'DP01'],
    ] as const)
      expect(await fileSha256(join(dpRoot(n.t, dp), packageId, 'install.wim'))).toBe(want);
    const top = await cas.t.site.status.hierarchyStatus(packageId);
    expect(top.content).toMatchObject({ Targeted: 3, NumberSuccess: 3, NumberErrors: 0, SourceVersion: 3 });
    expect(top.sites.map((s) => [s.SiteCode, s.Targeted, s.Installed, s.SourceVersion]).sort()).toEqual([
      ['CAS', 0, 0, 3],
      ['P01', 2, 2, 3],
      ['P02', 0, 0, 0],
      ['S01', 1, 1, 3],
    ]);
    // What the CAS shows for each DP is what that DP's own site reports.
    for (const n of [p01, s01]) {
      const own = (await n.t.site.status.distPointStatus(packageId)).filter((r) => r.SiteCode === n.code);
      const seen = top.dps.filter((r) => r.SiteCode === n.code);
      expect(seen.map((r) => [r.ServerNALPath, r.State, r.SourceVersion])).toEqual(
        own.map((r) => [r.ServerNALPath, r.State, r.SourceVersion]),
      );
    }
    // The CAS sent P01 deltas: far less than three full copies.
    const link = (await cas.t.site.hierarchy.listChildren()).find((c) => c.siteCode === 'P01')!;
    expect(link.bytesSent).toBeLessThan(6 * MiB + 2 * MiB);
    // v3's manifest went to P01 as a delta against the v2 manifest P01 holds (design §3).
    const v3 = cas.log.find((l) => l.includes(`replicate ${packageId} → P01: SourceVersion 3`));
    expect(v3).toMatch(/manifest delta \d+ bytes/);
    expect(Number(/manifest delta (\d+) bytes/.exec(v3 ?? '')?.[1])).toBeLessThan(1000);
  }, 90_000);

  it('lets only the SourceSite refresh', async () => {
    const e = await p01.t.site.distribution.refreshPkgSource(packageId).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'NOT_SOURCE_SITE', details: { owner: 'CAS' } });
    expect(String((e as Error).message)).toContain('CAS');
  });
});
