/**
 * hierarchy-refresh: issue 5's benchmark. Four sites in one process, each with its own SQLite database,
 * content library, `/site/v1` on loopback and job worker — CAS → P01, P02 (primaries) → S01 (secondary
 * under P01) — with 2 local-folder DPs at each primary and secondary. v1 of a 1 GiB image goes everywhere;
 * then a few MiB change and the CAS refreshes. Measured: time until every DP of the hierarchy serves v2,
 * and bytes sent on each site-to-site link and to each DP, beside the changed-chunk floor.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PackageType } from '../src/catalog/index.js';
import type { Manifest } from '../src/content/index.js';
import {
  installedEverywhere,
  startNode,
  waitFor,
  type SiteNode,
} from '../src/hierarchy/hierarchy.test-helpers.js';
import type { Benchmark, BenchContext, BenchResult } from './benchmark.js';
import { ByteStream, generateFile } from './inputs.js';
import { table } from './report.js';
import { fmtBytes, fmtMs, MiB } from './timing.js';

const DPS_PER_SITE = 2;

function uniqueChunks(m: Manifest): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of m.files) for (const c of f.chunks) out.set(c.id, c.size);
  return out;
}

/** Overwrites `count` regions of `bytes` spread through the file: "small changes". */
function change(path: string, size: number, count: number, bytes: number): number {
  const fresh = new ByteStream('hierarchy-refresh-changes');
  const fd = openSync(path, 'r+');
  try {
    for (let i = 0; i < count; i++) {
      const offset = Math.floor(((i + 0.5) * size) / count / 4096) * 4096;
      writeSync(fd, fresh.next(bytes), 0, bytes, offset);
    }
  } finally {
    closeSync(fd);
  }
  return count * bytes;
}

async function linkBytes(parent: SiteNode): Promise<Map<string, number>> {
  return new Map((await parent.t.site.hierarchy.listChildren()).map((c) => [c.siteCode, c.bytesSent]));
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const size = Math.max(16 * MiB, Math.round((1024 * MiB * ctx.scale) / MiB) * MiB);
  const nodes: SiteNode[] = [];
  try {
    ctx.log('starting CAS, P01, P02, S01 on loopback');
    const cas = await startNode('CAS', 'cas');
    nodes.push(cas);
    const p01 = await startNode('P01', 'primary', cas, { dps: DPS_PER_SITE });
    const p02 = await startNode('P02', 'primary', cas, { dps: DPS_PER_SITE });
    nodes.push(p01, p02);
    const s01 = await startNode('S01', 'secondary', p01, { dps: DPS_PER_SITE });
    nodes.push(s01);
    const dpCount = 3 * DPS_PER_SITE;

    const srcDir = join(ctx.workDir, 'source');
    mkdirSync(srcDir, { recursive: true });
    const source = join(srcDir, 'install.wim');
    ctx.log(`generating v1 (${fmtBytes(size)})`);
    generateFile(source, size, 'hierarchy-refresh-v1');
    const packageId = (
      await cas.t.site.packages.create(PackageType.SMS_Package, {
        Name: 'hierarchy-refresh',
        PkgSourcePath: srcDir,
      })
    ).packageId;

    ctx.log('v1: snapshot at the CAS, replication, distribution to 6 DPs');
    let start = performance.now();
    await cas.t.site.distribution.refreshPkgSource(packageId);
    for (const n of [p01, p02, s01]) {
      await waitFor(`metadata at ${n.code}`, () => n.t.site.packages.find(packageId), 600_000);
      await n.t.site.distribution.addDistributionPoints(
        packageId,
        Array.from({ length: DPS_PER_SITE }, (_, i) => `DP0${i + 1}`),
      );
      await n.report();
    }
    await waitForAll(cas, packageId, dpCount, 1);
    const v1Ms = performance.now() - start;
    const linksBefore = new Map([...(await linkBytes(cas)), ...(await linkBytes(p01))]);

    const changed = change(source, size, 4, MiB);
    ctx.log(`v2: ${fmtBytes(changed)} changed; RefreshPkgSource at the CAS`);
    start = performance.now();
    await cas.t.site.distribution.refreshPkgSource(packageId);
    await waitForAll(cas, packageId, dpCount, 2);
    const v2Ms = performance.now() - start;

    const v1 = await cas.t.site.packages.findVersion(packageId, 1);
    const v2 = await cas.t.site.packages.findVersion(packageId, 2);
    const c1 = uniqueChunks(await cas.t.site.library.manifests.getManifest(v1!.manifestId));
    const c2 = uniqueChunks(await cas.t.site.library.manifests.getManifest(v2!.manifestId));
    let floor = 0;
    for (const [id, n] of c2) if (!c1.has(id)) floor += n;

    const linksAfter = new Map([...(await linkBytes(cas)), ...(await linkBytes(p01))]);
    const links = [
      ['CAS → P01', 'P01'],
      ['CAS → P02', 'P02'],
      ['P01 → S01', 'S01'],
    ].map(([name, code]) => {
      const sent = (linksAfter.get(code!) ?? 0) - (linksBefore.get(code!) ?? 0);
      return { name: name!, sent };
    });
    const dps: { name: string; sent: number }[] = [];
    for (const n of [p01, p02, s01]) {
      for (const r of await n.t.site.status.distPointStatus(packageId)) {
        dps.push({ name: `${n.code}/${r.ServerName}`, sent: r.BytesSent });
      }
    }
    const worstLink = Math.max(...links.map((l) => l.sent));
    const worstDp = Math.max(...dps.map((d) => d.sent));
    const ratio = (n: number): string => (floor > 0 ? `${(n / floor).toFixed(3)}×` : '—');
    const body = [
      '## Scenario',
      '',
      `Four sites in one process (each its own SQLite database, content library, \`/site/v1\` on 127.0.0.1 and ` +
        `job worker): CAS → P01, P02 → S01 (secondary under P01); ${DPS_PER_SITE} local-folder DPs at each of ` +
        `P01, P02, S01 (the CAS holds none). One package whose source is a ${fmtBytes(size)} generated file. ` +
        `v1 goes everywhere; then ${fmtBytes(changed)} is overwritten in 4 places and the CAS runs RefreshPkgSource.`,
      '',
      '## Times',
      '',
      table(
        ['Phase', 'Until every DP of the hierarchy is INSTALLED'],
        [
          ['v1 (snapshot + full replication + 6 DPs)', fmtMs(v1Ms)],
          ['v2 (refresh + delta replication + 6 DPs)', `**${fmtMs(v2Ms)}**`],
        ],
      ),
      '',
      `## Bytes for v2 (changed-chunk floor: ${fmtBytes(floor)})`,
      '',
      table(
        ['Link or DP', 'Bytes sent for v2', '÷ floor'],
        [
          ...links.map((l) => [l.name, `**${fmtBytes(l.sent)}**`, ratio(l.sent)]),
          ...dps.map((d) => [d.name, fmtBytes(d.sent), ratio(d.sent)]),
        ],
      ),
      '',
      'Link bytes are the chunk batches and the manifest sent on the link (framing included); DP bytes are the ' +
        'chunks a site sent to its DP for v2. The floor is the bytes of v2 chunks v1 lacks.',
    ].join('\n');
    return {
      body,
      summary: [
        `v1 everywhere in ${fmtMs(v1Ms)}; v2 everywhere in ${fmtMs(v2Ms)}`,
        `v2 bytes per link: ${links.map((l) => `${l.name} ${fmtBytes(l.sent)}`).join(', ')} (floor ${fmtBytes(floor)})`,
      ],
      targets: [
        {
          name: 'bytes per link vs changed-chunk floor',
          target: 'beside the floor (report)',
          measured: ratio(worstLink),
          met: floor > 0 && worstLink <= floor * 1.1 + 256 * 1024,
        },
        {
          name: 'bytes per DP vs changed-chunk floor',
          target: 'beside the floor (report)',
          measured: ratio(worstDp),
          met: floor > 0 && worstDp <= floor * 1.1,
        },
      ],
    };
  } finally {
    for (const n of nodes.reverse()) await n.close().catch(() => undefined);
  }
}

async function waitForAll(top: SiteNode, packageId: string, dps: number, version: number): Promise<void> {
  // installedEverywhere polls the top site's hierarchy status; long timeout for 1 GiB on 2 cores.
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      await installedEverywhere(top, packageId, dps, version);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
}

export const benchmark: Benchmark = {
  name: 'hierarchy-refresh',
  title: 'Refresh of a 1 GiB image across CAS → 2 primaries → 1 secondary, 2 DPs each',
  peers: [],
  run,
};
