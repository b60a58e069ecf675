/**
 * wim-delta: issue 4 of benchmark 2. A tree of a few hundred files (mixed sizes, up to tens of MiB, partly
 * compressible) is captured into a WIM with `wimlib-imagex capture`; then a few files change in place, one
 * is added and one removed, and the tree is captured AGAIN into a new WIM (not `update`: what an admin's
 * rebuilt install.wim looks like). Per DP, the bytes sitecast sends for v2 beside the changed-chunk floor,
 * with FastCDC cut at the WIM's resource boundaries (the product default for `.wim`) and plain FastCDC
 * (the same bytes named `install.img`, which the WIM-aware cut does not look at); peers: `rsync --stats
 * --no-whole-file` and `casync` (the chunks a seeded extract must fetch); and wimlib's own view of what
 * changed. Once with LZX (as real OS images) and once with `--compress=none`.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, linkSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openSite, type SiteHandle } from '../src/app/site.js';
import { PackageType } from '../src/catalog/index.js';
import { loadSettings } from '../src/config/index.js';
import { encodeManifestDelta, type Manifest } from '../src/content/index.js';
import type { Benchmark, BenchContext, BenchResult, TargetCheck } from './benchmark.js';
import { sha256File, uniqueChunks, rsyncStat } from './content-facts.js';
import { casyncDelta, type CasyncDelta } from './casync-delta.js';
import { ByteStream, generateFile, generateTree } from './inputs.js';
import { runTimed } from './peers.js';
import { table } from './report.js';
import { fmtBytes, fmtMs, KiB, MiB } from './timing.js';
import { wimChangeView, type WimChangeView } from './wim-layout.js';

const DPS_PER_MODE = 2;
const MODES = [
  { key: 'aware', label: 'sitecast, WIM-aware cuts (default for .wim)', file: 'install.wim' },
  { key: 'plain', label: 'sitecast, plain FastCDC', file: 'install.img' },
] as const;
type ModeKey = (typeof MODES)[number]['key'];
type Compression = 'LZX' | 'none';

interface Edit {
  readonly what: string;
  readonly bytes: number;
}

interface TreeShape {
  readonly files: number;
  readonly totalBytes: number;
  readonly largest: number;
}

function makeTree(
  root: string,
  scale: number,
): { shape: TreeShape; treeFiles: readonly string[]; big: string[] } {
  const t = generateTree(
    join(root, 'Windows'),
    Math.max(60, Math.round(400 * scale)),
    300 * MiB * scale,
    'wim-delta',
  );
  const big = [16, 24, 40].map((m, i) => {
    const p = join(root, 'sources', `payload-${i}.bin`);
    generateFile(p, Math.max(MiB, Math.round(m * MiB * scale)), `wim-delta-big-${i}`);
    return p;
  });
  const bigBytes = big.reduce((n, p) => n + statSync(p).size, 0);
  return {
    shape: {
      files: t.files.length + big.length,
      totalBytes: t.totalBytes + bigBytes,
      largest: Math.max(t.largest, ...big.map((p) => statSync(p).size)),
    },
    treeFiles: t.files,
    big,
  };
}

function overwrite(path: string, at: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

/** Small changes: three files changed in place, one added, one removed (a few MiB in all). */
function changeTree(
  root: string,
  treeFiles: readonly string[],
  big: readonly string[],
  scale: number,
): Edit[] {
  const fresh = new ByteStream('wim-delta-changes');
  const edits: Edit[] = [];
  const region = (p: string, frac: number, n: number): void => {
    const size = statSync(p).size;
    const bytes = Math.min(n, size);
    overwrite(p, Math.floor(((size - bytes) * frac) / 4096) * 4096, fresh.next(bytes));
    edits.push({ what: `overwrite in ${p.slice(root.length + 1)} (${fmtBytes(size)})`, bytes });
  };
  region(big[2]!, 0.5, Math.max(64 * KiB, Math.round(MiB * scale)));
  region(big[1]!, 0.3, 64 * KiB);
  const sorted = [...treeFiles].sort((a, b) => statSync(a).size - statSync(b).size);
  region(sorted[Math.floor(sorted.length * 0.6)]!, 0, 4 * KiB);
  const removed = sorted[Math.floor(sorted.length * 0.8)]!;
  edits.push({ what: `removed ${removed.slice(root.length + 1)}`, bytes: statSync(removed).size });
  rmSync(removed);
  const added = join(root, 'Windows', 'dir07', 'added-driver.bin');
  const addBytes = Math.max(256 * KiB, Math.round(3 * MiB * scale));
  generateFile(added, addBytes, 'wim-delta-added');
  edits.push({ what: `added ${added.slice(root.length + 1)}`, bytes: addBytes });
  return edits;
}

function capture(tree: string, wim: string, compression: Compression): number {
  const started = performance.now();
  mkdirSync(join(wim, '..'), { recursive: true });
  execFileSync(
    'wimlib-imagex',
    [
      'capture',
      tree,
      wim,
      'Windows 11 Enterprise',
      'bench image',
      `--compress=${compression}`,
      '--threads=2',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30 * 60_000 },
  );
  return performance.now() - started;
}

interface ModeResult {
  readonly floor: number;
  readonly floorChunks: number;
  readonly v2Chunks: number;
  readonly sent: readonly number[];
  readonly identical: readonly boolean[];
  readonly states: readonly string[];
  readonly manifestBytes: number;
  readonly manifestDeltaBytes: number;
  readonly refreshMs: number;
  /** CPU of this process (all threads: chunker workers included) from RefreshPkgSource to worker idle. */
  readonly refreshCpuMs: number;
}

interface RowResult {
  readonly compression: Compression;
  readonly v1Size: number;
  readonly v2Size: number;
  readonly captureMs: number;
  readonly wim: WimChangeView;
  readonly modes: Record<ModeKey, ModeResult>;
  readonly rsyncLiteral: number;
  readonly rsyncWire: number;
  readonly rsyncOk: boolean;
  readonly casync: CasyncDelta;
}

async function manifestOf(
  site: SiteHandle,
  packageId: string,
  version: number,
): Promise<[Manifest, string, number]> {
  const v = await site.packages.findVersion(packageId, version);
  if (!v) throw new Error(`package ${packageId} has no version ${version}`);
  const bytes = await site.library.manifests.getManifestBytes(v.manifestId);
  return [await site.library.manifests.getManifest(v.manifestId), v.manifestId, bytes.length];
}

/** One site, one package per mode (each to its own DPs): v1 everywhere, then RefreshPkgSource with v2. */
async function measureSite(
  ctx: BenchContext,
  dir: string,
  v1: string,
  v2: string,
): Promise<Record<ModeKey, ModeResult>> {
  const settings = loadSettings({ home: join(dir, 'site-home'), siteCode: 'WIM' }, {});
  const site = await openSite(settings, { log: () => undefined });
  try {
    const drain = (): Promise<void> => site.createWorker({ pollMs: 20, leaseMs: 120_000 }).runUntilIdle();
    const pkgs = [];
    for (const mode of MODES) {
      const src = join(dir, 'sources', mode.key);
      mkdirSync(src, { recursive: true });
      linkSync(v1, join(src, mode.file));
      const dps: string[] = [];
      for (let i = 1; i <= DPS_PER_MODE; i++) {
        const name = `DP-${mode.key.toUpperCase()}-${i}`;
        await site.dps.addLocal({ name, root: join(dir, 'dps', name) });
        dps.push(name);
      }
      const pkg = await site.packages.create(PackageType.SMS_Package, {
        Name: `wim-delta ${mode.key}`,
        PkgSourcePath: src,
      });
      pkgs.push({ mode, src, dps, packageId: pkg.packageId });
    }
    ctx.log(`  v1 to ${MODES.length * DPS_PER_MODE} DPs`);
    for (const p of pkgs) await site.distribution.addDistributionPoints(p.packageId, p.dps);
    await drain();
    const out = {} as Record<ModeKey, ModeResult>;
    for (const p of pkgs) {
      rmSync(join(p.src, p.mode.file));
      linkSync(v2, join(p.src, p.mode.file));
      ctx.log(`  RefreshPkgSource (${p.mode.key})`);
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      await site.distribution.refreshPkgSource(p.packageId);
      await drain();
      const refreshMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const rows = await site.status.distPointStatus(p.packageId);
      const [m1, m1Id] = await manifestOf(site, p.packageId, 1);
      const [m2, , m2Bytes] = await manifestOf(site, p.packageId, 2);
      const c1 = uniqueChunks(m1);
      const c2 = uniqueChunks(m2);
      let floor = 0;
      let floorChunks = 0;
      for (const [id, n] of c2) {
        if (c1.has(id)) continue;
        floor += n;
        floorChunks++;
      }
      const want = sha256File(v2);
      out[p.mode.key] = {
        floor,
        floorChunks,
        v2Chunks: m2.files.reduce((n, f) => n + f.chunks.length, 0),
        sent: rows.map((r) => r.BytesSent),
        states: rows.map((r) => `${r.StateName}, v${r.SourceVersion}`),
        identical: rows.map(
          (r) => sha256File(join(dir, 'dps', r.ServerName, p.packageId, p.mode.file)) === want,
        ),
        manifestBytes: m2Bytes,
        manifestDeltaBytes: encodeManifestDelta(m1, m1Id, m2).length,
        refreshMs,
        refreshCpuMs: (cpu.user + cpu.system) / 1000,
      };
    }
    return out;
  } finally {
    await site.close();
  }
}

async function measureRow(
  ctx: BenchContext,
  compression: Compression,
  wims: { v1: string; v2: string; captureMs: number },
): Promise<RowResult> {
  const dir = join(ctx.workDir, `run-${compression}`);
  ctx.log(`${compression}: sitecast (site, ${MODES.length} packages × ${DPS_PER_MODE} local DPs)`);
  const modes = await measureSite(ctx, dir, wims.v1, wims.v2);
  ctx.log(`${compression}: rsync --no-whole-file --stats`);
  const copy = join(dir, 'rsync-dest', 'install.wim');
  mkdirSync(join(copy, '..'), { recursive: true });
  copyFileSync(wims.v1, copy);
  const r = await runTimed('rsync', ['--no-whole-file', '--stats', wims.v2, copy]);
  const rsyncOk = sha256File(copy) === sha256File(wims.v2);
  ctx.log(`${compression}: casync make ×2 + seeded extract`);
  const casync = await casyncDelta(join(dir, 'casync'), wims.v1, wims.v2);
  ctx.log(`${compression}: wimlib blob tables`);
  const wim = wimChangeView(wims.v1, wims.v2);
  rmSync(dir, { recursive: true, force: true });
  return {
    compression,
    v1Size: statSync(wims.v1).size,
    v2Size: statSync(wims.v2).size,
    captureMs: wims.captureMs,
    wim,
    modes,
    rsyncLiteral: rsyncStat(r.stdout, 'Literal data'),
    rsyncWire: rsyncStat(r.stdout, 'Total bytes sent') + rsyncStat(r.stdout, 'Total bytes received'),
    rsyncOk,
    casync,
  };
}

const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(3)}×` : '—');

function rowReport(r: RowResult): string {
  const pct = (n: number): string => `${((100 * n) / r.v2Size).toFixed(2)} %`;
  const lines: string[][] = [
    ['v1.wim → v2.wim', `${fmtBytes(r.v1Size)} → ${fmtBytes(r.v2Size)}`, '100 %', ''],
    [
      `wimlib: v2 streams whose SHA-1 v1 lacks (${r.wim.newBlobs} of ${r.wim.v2Blobs})`,
      fmtBytes(r.wim.newBlobBytes),
      pct(r.wim.newBlobBytes),
      'a per-stream delta would send this',
    ],
    [
      '**bytes that really changed** (new 32 KiB compression chunks of new streams + chunk tables + header/tables)',
      `**${fmtBytes(r.wim.changedBytes)}**`,
      pct(r.wim.changedBytes),
      `of which header and tables ${fmtBytes(r.wim.tableBytes)}`,
    ],
  ];
  for (const mode of MODES) {
    const m = r.modes[mode.key];
    const sent = Math.max(...m.sent);
    lines.push(
      [
        `${mode.label}: changed-chunk floor (${m.floorChunks} of ${m.v2Chunks} chunks)`,
        fmtBytes(m.floor),
        pct(m.floor),
        `÷ really changed ${ratio(m.floor, r.wim.changedBytes)}`,
      ],
      [
        `${mode.label}: **BytesSent per DP** (max of ${m.sent.length})`,
        `**${fmtBytes(sent)}**`,
        pct(sent),
        `÷ own floor ${ratio(sent, m.floor)}; ÷ really changed ${ratio(sent, r.wim.changedBytes)}`,
      ],
      [
        `${mode.label}: v2 manifest, full / as a delta against v1`,
        `${fmtBytes(m.manifestBytes)} / ${fmtBytes(m.manifestDeltaBytes)}`,
        pct(m.manifestDeltaBytes),
        `wire with delta manifest ${fmtBytes(sent + m.manifestDeltaBytes)}`,
      ],
    );
  }
  lines.push(
    ['rsync Literal data', fmtBytes(r.rsyncLiteral), pct(r.rsyncLiteral), ''],
    [
      'rsync Total bytes sent + received',
      fmtBytes(r.rsyncWire),
      pct(r.rsyncWire),
      r.rsyncOk ? 'result = v2' : '**result differs from v2**',
    ],
    [
      `casync: v2 chunks v1's index lacks (${r.casync.fetchChunks} of ${r.casync.v2Chunks}), data`,
      fmtBytes(r.casync.fetchBytes),
      pct(r.casync.fetchBytes),
      '',
    ],
    [
      'casync: the same as stored .cacnk (zstd) + v2 .caibx',
      `${fmtBytes(r.casync.fetchStoredBytes)} + ${fmtBytes(r.casync.indexBytes)}`,
      pct(r.casync.fetchStoredBytes + r.casync.indexBytes),
      r.casync.verified
        ? 'verified: `casync extract --seed=v1.wim` from a store of only these chunks = v2'
        : '**seeded extract from these chunks alone FAILED**',
    ],
  );
  const perDp = MODES.flatMap((mode) => {
    const m = r.modes[mode.key];
    return m.sent.map((s, i) => [
      mode.key,
      `${i + 1}`,
      m.states[i] ?? '',
      fmtBytes(s),
      ratio(s, m.floor),
      m.identical[i] ? 'yes' : '**NO**',
    ]);
  });
  return [
    `## ${r.compression === 'LZX' ? 'LZX (default, as real OS images)' : '`--compress=none`'}`,
    '',
    table(['What', 'Bytes', 'Share of v2', 'Note'], lines),
    '',
    table(['Mode', 'DP', 'State', 'BytesSent v2', '÷ own floor', 'DP file = v2'], perDp),
    '',
    `Capture of v1 + v2: ${fmtMs(r.captureMs)}. RefreshPkgSource → worker idle: WIM-aware ` +
      `${fmtMs(r.modes.aware.refreshMs)} (CPU ${fmtMs(r.modes.aware.refreshCpuMs)}), plain ` +
      `${fmtMs(r.modes.plain.refreshMs)} (CPU ${fmtMs(r.modes.plain.refreshCpuMs)}) (snapshot + ${DPS_PER_MODE} ` +
      `delta transfers; CPU of the whole process, chunker workers included; noisy, shared machine). casync make ×2 ${fmtMs(r.casync.makeMs)}, seeded extract ` +
      `${fmtMs(r.casync.extractMs)}.`,
  ].join('\n');
}

function targetsOf(r: RowResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const casyncWire = r.casync.fetchStoredBytes + r.casync.indexBytes;
  for (const mode of MODES) {
    const m = r.modes[mode.key];
    const sent = Math.max(...m.sent);
    const wire = sent + m.manifestDeltaBytes;
    const name = `${r.compression}, ${mode.key}`;
    out.push(
      {
        name: `${name}: BytesSent vs own changed-chunk floor`,
        target: '≤ 1.10× floor',
        measured: ratio(sent, m.floor),
        met: sent <= 1.1 * m.floor,
      },
      {
        name: `${name}: BytesSent vs bytes that really changed (WIM granularity)`,
        target: '≤ 1.10×',
        measured: ratio(sent, r.wim.changedBytes),
        met: sent <= 1.1 * r.wim.changedBytes,
      },
      {
        name: `${name}: BytesSent + manifest delta vs rsync sent + received`,
        target: '< rsync',
        measured: `${fmtBytes(wire)} vs ${fmtBytes(r.rsyncWire)} (${ratio(wire, r.rsyncWire)})`,
        met: wire < r.rsyncWire,
      },
      {
        name: `${name}: BytesSent + manifest delta vs casync fetch (.cacnk + .caibx)`,
        target: '< casync',
        measured: `${fmtBytes(wire)} vs ${fmtBytes(casyncWire)} (${ratio(wire, casyncWire)})`,
        met: wire < casyncWire,
      },
    );
  }
  return out;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const tree = join(ctx.workDir, 'tree');
  ctx.log('generating the tree');
  const { shape, treeFiles, big } = makeTree(tree, ctx.scale);
  const rows: Compression[] = ['LZX', 'none'];
  const wims = new Map<Compression, { v1: string; v2: string; captureMs: number }>();
  for (const c of rows) {
    ctx.log(`capturing v1 (${c})`);
    const v1 = join(ctx.workDir, 'wims', c, 'v1.wim');
    wims.set(c, { v1, v2: join(ctx.workDir, 'wims', c, 'v2.wim'), captureMs: capture(tree, v1, c) });
  }
  const edits = changeTree(tree, treeFiles, big, ctx.scale);
  for (const c of rows) {
    ctx.log(`capturing v2 (${c}): the changed tree, captured anew`);
    const w = wims.get(c)!;
    wims.set(c, { ...w, captureMs: w.captureMs + capture(tree, w.v2, c) });
  }
  rmSync(tree, { recursive: true, force: true });
  const results: RowResult[] = [];
  for (const c of rows) results.push(await measureRow(ctx, c, wims.get(c)!));

  const edited = edits.reduce((n, e) => n + (e.what.startsWith('removed') ? 0 : e.bytes), 0);
  const body = [
    '## Scenario',
    '',
    `A generated tree of ${shape.files} files, ${fmtBytes(shape.totalBytes)} (partly compressible AES-CTR ` +
      `stream from bench/inputs.ts; sizes log-uniform up to ${fmtBytes(shape.largest)}), captured with ` +
      '`wimlib-imagex capture` (one image). Then the changes below, and the tree captured again into a new WIM ' +
      '(not `update`). Each compression is one run: one site (openSite, SQLite, temp home) with one folder ' +
      `package per mode and ${DPS_PER_MODE} local-folder DPs each; v1 distributed, then RefreshPkgSource ` +
      'with v2 and the worker until idle. The plain mode gets the very same bytes named `install.img`, so ' +
      'the WIM-aware cut (which looks at `.wim`/`.swm` names) leaves it alone.',
    '',
    table(
      ['Change', 'Bytes'],
      edits.map((e) => [e.what, fmtBytes(e.bytes)]),
    ),
    '',
    `Bytes edited or added: ${fmtBytes(edited)}. "Bytes that really changed" reads both blob tables (not ` +
      'through src/): inside every stream of v2 whose SHA-1 v1 lacks, the compression chunks (32 KiB of ' +
      'data each, LZX-compressed independently; 32 KiB pieces when uncompressed) whose bytes appear nowhere ' +
      'in v1, plus chunk tables, header, blob table and XML. Each sitecast mode is judged against its own ' +
      'changed-chunk floor AND against that figure; "wire" adds the v2 manifest as a delta against v1 ' +
      '(what an HTTP DP gets; a local-folder DP is handed the whole manifest).',
    '',
    ...results.map(rowReport).flatMap((s) => [s, '']),
    '## How the WIM-aware cut works',
    '',
    'For a `.wim`/`.swm` source file (src/content/wim-boundaries.ts) the header and the blob table are ' +
      "read; the start and end of every resource of ≥ 64 KiB, the end of each compressed resource's chunk " +
      'table, and the start/end of the blob table, XML and integrity table become forced cuts. Inside each ' +
      "compressed resource the chunk table gives every compression chunk's boundary; a boundary is also a " +
      'cut when a hash of the compression chunk before it (its stored size and last 32 bytes) falls below ' +
      'a threshold proportional to that size (one hit per 56 KiB stored on average, none within 16 KiB of ' +
      'another hit or the data edges): src/content/wim-boundaries-select.ts. The ends of small resources ' +
      'are selected the same way from their size and SHA-1 in the blob table. A region between cuts that ' +
      'is a run of whole compression chunks (or whole small resources) and at most 256 KiB is one chunk; ' +
      "FastCDC runs inside longer regions and all others (the chunk pool's segments never cross a cut: " +
      'src/content/segment-plan.ts). Chunks stay content-addressed byte ranges of the file; a WIM whose ' +
      'tables do not add up (or a solid/pipable one) is chunked exactly as any file, and a compressed ' +
      'resource whose chunk table does not add up gets its resource cuts only.',
  ].join('\n');
  const targets = results.flatMap(targetsOf);
  return {
    body,
    summary: results.map((r) => {
      const a = r.modes.aware;
      const p = r.modes.plain;
      return (
        `${r.compression}: really changed ${fmtBytes(r.wim.changedBytes)}; sent aware ${fmtBytes(Math.max(...a.sent))} ` +
        `(floor ${fmtBytes(a.floor)}), plain ${fmtBytes(Math.max(...p.sent))}; rsync ${fmtBytes(r.rsyncWire)}; ` +
        `casync ${fmtBytes(r.casync.fetchStoredBytes + r.casync.indexBytes)}`
      );
    }),
    targets,
  };
}

export const benchmark: Benchmark = {
  name: 'wim-delta',
  title: 'Delta distribution of a re-captured WIM, beside rsync and casync',
  peers: [
    { command: 'wimlib-imagex', aptPackage: 'wimtools' },
    { command: 'rsync', aptPackage: 'rsync' },
    { command: 'casync', aptPackage: 'casync' },
  ],
  run,
};
