/**
 * ingest-rss: peak resident memory of a process that snapshots a 4 GiB file into a fresh content library,
 * measured in a child process (its own process.resourceUsage().maxRSS at the end, and GNU time's %M).
 * The child runs the compiled product (dist/, built first), as `sitecast` runs: no tsx in the process.
 * A 1 MiB snapshot in the same kind of child gives the fixed cost (Node, modules, worker threads).
 * Target: < 300 MB.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, BenchContext, BenchResult, TargetCheck } from './benchmark.js';
import { generateFile, warmPageCache } from './inputs.js';
import { runTimed } from './peers.js';
import { table } from './report.js';
import { fmtBytes, fmtMs, fmtRate, GiB, MiB } from './timing.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const distContent = pathToFileURL(join(repoRoot, 'dist', 'content', 'index.js')).href;
/** The child: snapshot argv[1] into a fresh library at argv[2], print its own peak RSS as JSON. */
const childScript = `
import { ContentLibrary } from ${JSON.stringify(distContent)};
const [source, libraryDir] = process.argv.slice(2);
const rssBefore = process.resourceUsage().maxRSS * 1024;
const lib = await ContentLibrary.open(libraryDir);
const t = performance.now();
const snap = await lib.snapshot(source, { packageId: 'BEN00001', sourceVersion: 1 });
const wallMs = performance.now() - t;
await lib.close();
console.log(JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, rssBeforeBytes: rssBefore, wallMs,
  totalBytes: snap.totalBytes, chunkCount: snap.chunkCount }));
`;
const LIMIT = 300 * 1000 * 1000;

interface ChildReport {
  readonly maxRssBytes: number;
  readonly rssBeforeBytes: number;
  readonly wallMs: number;
  readonly totalBytes: number;
  readonly chunkCount: number;
}

async function snapshotInChild(
  ctx: BenchContext,
  source: string,
  label: string,
): Promise<ChildReport & { timeRssBytes: number }> {
  const lib = join(ctx.workDir, `library-${label}`);
  try {
    warmPageCache([source]);
    // A file, not `node -e`: worker threads inherit the process's execArgv, and `--input-type` breaks them.
    const script = join(ctx.workDir, 'ingest-rss-child.mjs');
    writeFileSync(script, childScript);
    const r = await runTimed(process.execPath, [script, source, lib]);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    const report = JSON.parse(line) as ChildReport;
    return { ...report, timeRssBytes: r.maxRssBytes ?? 0 };
  } finally {
    rmSync(lib, { recursive: true, force: true });
  }
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  ctx.log('  building dist/ (the child measures the compiled product)');
  execFileSync(
    process.execPath,
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'tsconfig.build.json')],
    {
      stdio: 'inherit',
    },
  );
  const bytes = Math.max(MiB, Math.round((4 * GiB * ctx.scale) / MiB) * MiB);
  const small = join(ctx.workDir, 'input', 'small.bin');
  const big = join(ctx.workDir, 'input', 'big.wim');
  generateFile(small, MiB, 'ingest-rss-small');
  ctx.log(`generating ${fmtBytes(bytes)} at ${big}`);
  generateFile(big, bytes, 'ingest-rss');
  ctx.log('  child: 1 MiB baseline');
  const base = await snapshotInChild(ctx, small, 'small');
  ctx.log(`  child: ${fmtBytes(bytes)}`);
  const main = await snapshotInChild(ctx, big, 'big');
  const peak = Math.max(main.maxRssBytes, main.timeRssBytes);
  const targets: TargetCheck[] = [
    {
      name: `peak RSS, ${fmtBytes(bytes)} snapshot`,
      target: '< 300 MB',
      measured: `${(peak / 1e6).toFixed(0)} MB`,
      met: peak < LIMIT,
    },
  ];
  const row = (label: string, r: typeof main): string[] => [
    label,
    `**${(r.maxRssBytes / 1e6).toFixed(0)} MB**`,
    `${(r.timeRssBytes / 1e6).toFixed(0)} MB`,
    `${(r.rssBeforeBytes / 1e6).toFixed(0)} MB`,
    `${fmtMs(r.wallMs)} (${fmtRate(r.totalBytes, r.wallMs)})`,
    String(r.chunkCount),
  ];
  const body = [
    '## Results',
    '',
    'MB = 10^6 bytes (the target is in MB). The child is plain `node` running the compiled dist/: it ' +
      'opens a fresh ContentLibrary (2 chunker worker threads), snapshots the file, closes the library and ' +
      "prints its own `process.resourceUsage().maxRSS`, which counts every thread of the process. GNU time's " +
      '%M is the largest peak of the child.',
    '',
    table(
      [
        'Snapshot',
        'Peak RSS (resourceUsage)',
        'Peak RSS (GNU time)',
        'RSS after imports',
        'Snapshot time',
        'Chunks',
      ],
      [row('1 MiB (fixed cost)', base), row(fmtBytes(bytes), main)],
    ),
    '',
    `Growth over the fixed cost: ${((main.maxRssBytes - base.maxRssBytes) / 1e6).toFixed(0)} MB for ` +
      `${fmtBytes(bytes)} — what the snapshot itself holds (chunker blocks in flight, pack write buffers, ` +
      'the chunk index and the manifest being built). The input was read once before each child ran ' +
      '(page cache warm); page cache is not part of RSS.',
  ].join('\n');
  return {
    body,
    summary: [
      `peak RSS ${(peak / 1e6).toFixed(0)} MB for ${fmtBytes(bytes)} (fixed cost ${(base.maxRssBytes / 1e6).toFixed(0)} MB)`,
      ...targets.map((t) => `${t.target}: ${t.measured} → ${t.met ? 'met' : 'NOT met'}`),
    ],
    targets,
  };
}

export const benchmark: Benchmark = {
  name: 'ingest-rss',
  title: 'Peak memory of a 4 GiB snapshot',
  peers: [],
  run,
};
