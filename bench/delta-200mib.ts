/**
 * delta-200mib: the 200 MiB scenario of the tests as a benchmark. A site (openSite, SQLite, temp home)
 * with three local-folder DPs distributes v1 of a 200 MiB file; then three 1 MiB regions are overwritten
 * and 1 MiB is inserted in the middle (every byte after it shifts: content-defined chunking should not
 * care), RefreshPkgSource runs and the worker runs until idle. Per DP: bytes sent beside the full size and
 * the changed-chunk floor (bytes of v2's chunks that v1 lacks), and rsync on the same two files as a peer.
 */
import { closeSync, copyFileSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openSite, type SiteHandle } from '../src/app/site.js';
import { PackageType } from '../src/catalog/index.js';
import { loadSettings } from '../src/config/index.js';
import type { Manifest } from '../src/content/index.js';
import type { Benchmark, BenchContext, BenchResult } from './benchmark.js';
import { sha256File, uniqueChunks, rsyncStat } from './content-facts.js';
import { ByteStream, generateFile, warmPageCache } from './inputs.js';
import { runTimed } from './peers.js';
import { table } from './report.js';
import { fmtBytes, fmtMs, MiB } from './timing.js';

const DP_COUNT = 3;

interface Edit {
  readonly kind: 'overwrite' | 'insert';
  /** Offset in v2. */
  readonly offset: number;
  readonly bytes: number;
}

/** Writes v2 next to v1 (insertion while copying, then overwrites in place) and renames it over v1. */
function makeV2(path: string, size: number, region: number): Edit[] {
  const fresh = new ByteStream('delta-200mib-changes');
  const mid = Math.floor(size / 2 / 4096) * 4096;
  const tmp = `${path}.v2`;
  const src = openSync(path, 'r');
  const dst = openSync(tmp, 'w');
  try {
    const buf = Buffer.allocUnsafe(4 * MiB);
    const copy = (from: number, to: number): void => {
      for (let pos = from; pos < to;) {
        const n = readSync(src, buf, 0, Math.min(buf.length, to - pos), pos);
        writeSync(dst, buf, 0, n);
        pos += n;
      }
    };
    copy(0, mid);
    writeSync(dst, fresh.next(region));
    copy(mid, size);
    const edits: Edit[] = [{ kind: 'insert', offset: mid, bytes: region }];
    for (const at of [1 / 8, 3 / 8, 7 / 8]) {
      const offset = Math.floor(((size + region) * at) / 4096) * 4096;
      writeSync(dst, fresh.next(region), 0, region, offset);
      edits.push({ kind: 'overwrite', offset, bytes: region });
    }
    return edits.sort((a, b) => a.offset - b.offset);
  } finally {
    closeSync(src);
    closeSync(dst);
    renameSync(tmp, path);
  }
}

async function manifestOf(site: SiteHandle, packageId: string, version: number): Promise<[Manifest, number]> {
  const v = await site.packages.findVersion(packageId, version);
  if (!v) throw new Error(`package ${packageId} has no version ${version}`);
  const bytes = await site.library.manifests.getManifestBytes(v.manifestId);
  return [await site.library.manifests.getManifest(v.manifestId), bytes.length];
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const size = Math.max(8 * MiB, Math.round((200 * MiB * ctx.scale) / MiB) * MiB);
  const region = Math.min(MiB, size / 64);
  const source = join(ctx.workDir, 'source', 'install.wim');
  const rsyncCopy = join(ctx.workDir, 'rsync-dest', 'install.wim');
  ctx.log(`generating v1 (${fmtBytes(size)})`);
  generateFile(source, size, 'delta-200mib-v1');

  const events: { at: number; line: string }[] = [];
  let phaseStart = performance.now();
  const settings = loadSettings({ home: join(ctx.workDir, 'site-home'), siteCode: 'BEN' }, {});
  const site = await openSite(settings, {
    log: (line) => events.push({ at: performance.now() - phaseStart, line }),
  });
  try {
    const dps: string[] = [];
    for (let i = 1; i <= DP_COUNT; i++) {
      const name = `DP0${i}`;
      await site.dps.addLocal({ name, root: join(ctx.workDir, 'dps', name) });
      dps.push(name);
    }
    // A folder package holding the one big file (an image package needs a parseable WIM).
    const pkg = await site.packages.create(PackageType.SMS_Package, {
      Name: 'delta-200mib',
      PkgSourcePath: dirname(source),
    });
    const packageId = pkg.packageId;
    const drain = (): Promise<void> => site.createWorker({ pollMs: 20, leaseMs: 60_000 }).runUntilIdle();

    ctx.log('distributing v1 to 3 DPs');
    warmPageCache([source]);
    phaseStart = performance.now();
    await site.distribution.addDistributionPoints(packageId, dps);
    await drain();
    const v1Ms = performance.now() - phaseStart;
    const v1Rows = await site.status.distPointStatus(packageId);
    const v1Events = events.splice(0);

    mkdirSync(join(ctx.workDir, 'rsync-dest'), { recursive: true });
    copyFileSync(source, rsyncCopy);
    const edits = makeV2(source, size, region);
    const v2Size = size + region;

    ctx.log('RefreshPkgSource with v2');
    warmPageCache([source]);
    phaseStart = performance.now();
    await site.distribution.refreshPkgSource(packageId);
    await drain();
    const refreshMs = performance.now() - phaseStart;
    const rows = await site.status.distPointStatus(packageId);
    const v2Events = events.splice(0);

    const [m1] = await manifestOf(site, packageId, 1);
    const [m2, m2Bytes] = await manifestOf(site, packageId, 2);
    const c1 = uniqueChunks(m1);
    const c2 = uniqueChunks(m2);
    let floor = 0;
    let floorChunks = 0;
    for (const [id, n] of c2)
      if (!c1.has(id)) {
        floor += n;
        floorChunks++;
      }
    const want = sha256File(source);
    const identical = dps.map(
      (dp) => sha256File(join(ctx.workDir, 'dps', dp, packageId, 'install.wim')) === want,
    );

    ctx.log('rsync --no-whole-file --stats v2 → copy of v1');
    warmPageCache([source, rsyncCopy]);
    const r = await runTimed('rsync', ['--no-whole-file', '--stats', source, rsyncCopy]);
    const literal = rsyncStat(r.stdout, 'Literal data');
    const matched = rsyncStat(r.stdout, 'Matched data');
    const wireSent = rsyncStat(r.stdout, 'Total bytes sent');
    const wireReceived = rsyncStat(r.stdout, 'Total bytes received');
    const rsyncOk = sha256File(rsyncCopy) === want;

    const changed = edits.reduce((n, e) => n + e.bytes, 0);
    const pct = (n: number): string => `${((100 * n) / v2Size).toFixed(2)} %`;
    const perDp = rows.map((row, i) => [
      row.ServerName,
      `${row.StateName}, v${row.SourceVersion}`,
      fmtBytes(v1Rows.find((v) => v.ServerName === row.ServerName)?.BytesSent ?? 0),
      `**${fmtBytes(row.BytesSent)}**`,
      pct(row.BytesSent),
      floor > 0 ? `${(row.BytesSent / floor).toFixed(3)}×` : '—',
      identical[i] ? 'yes' : '**NO**',
    ]);
    const timeline = (list: typeof events): string[] =>
      list.map((e) => `- +${fmtMs(e.at)} ${e.line.replace(/`/g, "'")}`);
    const sentAll = rows.map((r2) => r2.BytesSent);
    const body = [
      '## Scenario',
      '',
      `openSite on a temp home (SQLite), ${DP_COUNT} local-folder DPs, one image package whose source is a ` +
        `${fmtBytes(size)} generated file (partly compressible AES-CTR stream). v1 is distributed to all DPs; ` +
        `then v2 = v1 with ${edits.length} edits (${fmtBytes(changed)} changed), RefreshPkgSource, worker ` +
        'until idle (one worker, default concurrency: 3 packages × 5 DPs).',
      '',
      table(
        ['Edit', 'Offset in v2', 'Bytes'],
        edits.map((e) => [e.kind, fmtBytes(e.offset), fmtBytes(e.bytes)]),
      ),
      '',
      '## Bytes sent',
      '',
      table(
        ['What', 'Bytes', 'Share of v2'],
        [
          ['v2 full size', fmtBytes(v2Size), '100 %'],
          ['bytes edited', fmtBytes(changed), pct(changed)],
          [
            `changed-chunk floor (${floorChunks} chunks of v2 not in v1, from the two manifests)`,
            fmtBytes(floor),
            pct(floor),
          ],
          [
            `sitecast BytesSent per DP (min–max of ${DP_COUNT})`,
            `${fmtBytes(Math.min(...sentAll))} – ${fmtBytes(Math.max(...sentAll))}`,
            pct(Math.max(...sentAll)),
          ],
          ['sitecast v2 manifest (sent to each DP besides BytesSent)', fmtBytes(m2Bytes), pct(m2Bytes)],
          ['rsync Literal data', fmtBytes(literal), pct(literal)],
          ['rsync Matched data (taken from the v1 copy)', fmtBytes(matched), pct(matched)],
          [
            'rsync Total bytes sent + received (literal data, block checksums, tokens)',
            `${fmtBytes(wireSent)} + ${fmtBytes(wireReceived)}`,
            pct(wireSent + wireReceived),
          ],
        ],
      ),
      '',
      table(
        ['DP', 'State', 'BytesSent v1', 'BytesSent v2', 'Share of v2', '÷ floor', 'DP file = source'],
        perDp,
      ),
      '',
      '## Time',
      '',
      table(
        ['Step', 'Wall'],
        [
          ['v1: AddDistributionPoints → worker idle (snapshot + 3 full transfers)', fmtMs(v1Ms)],
          ['v2: RefreshPkgSource → worker idle (snapshot + 3 delta transfers)', `**${fmtMs(refreshMs)}**`],
          [
            `rsync --no-whole-file (one destination${rsyncOk ? '' : '; RESULT DIFFERS FROM SOURCE'})`,
            fmtMs(r.wallMs),
          ],
        ],
      ),
      '',
      'The source was read once before each step (page cache warm). v2 timeline (site log):',
      '',
      ...timeline(v2Events),
      '',
      '<details><summary>v1 timeline</summary>',
      '',
      ...timeline(v1Events),
      '',
      '</details>',
      '',
      `v1 manifest chunks: ${c1.size}; v2: ${c2.size} (avg ${fmtBytes(v2Size / Math.max(1, c2.size))}).`,
    ].join('\n');
    return {
      body,
      summary: [
        `v2 refresh ${fmtMs(refreshMs)}; per DP sent ${fmtBytes(Math.max(...sentAll))} of ${fmtBytes(v2Size)} ` +
          `(floor ${fmtBytes(floor)}, edited ${fmtBytes(changed)}); rsync literal ${fmtBytes(literal)}`,
      ],
      targets: [],
    };
  } finally {
    await site.close();
  }
}

export const benchmark: Benchmark = {
  name: 'delta-200mib',
  title: 'Delta distribution of a 200 MiB image to 3 DPs',
  peers: [{ command: 'rsync', aptPackage: 'rsync' }],
  run,
};
