/**
 * The ingest comparison shared by ingest-file and ingest-tree: sitecast's ContentLibrary.snapshot into a
 * fresh library beside openssl and casync on the same input, each run preceded by the same page-cache
 * warming, rounds interleaved (the order rotates) so load from other work hits every tool alike.
 * Sitecast's chunk + hash stage alone (snapshotSource into a sink that stores nothing) runs too: the
 * difference to the full snapshot is the cost of the pack store.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChunkerPool, ContentLibrary, snapshotSource } from '../src/content/index.js';
import type { IngestSink, SnapshotResult } from '../src/content/index.js';
import type { BenchContext, TargetCheck } from './benchmark.js';
import { warmPageCache } from './inputs.js';
import { runTimed } from './peers.js';
import { table } from './report.js';
import {
  cpuSecPerGib,
  fmtBytes,
  fmtMs,
  fmtRatio,
  measureInProcess,
  medianRun,
  mibPerSec,
  type Measurement,
} from './timing.js';

export interface IngestInput {
  /** What sitecast snapshots and casync archives: a file or a directory. */
  readonly source: string;
  /** Every file of the input, for page-cache warming. */
  readonly files: readonly string[];
  readonly bytes: number;
  /** How openssl hashes the input, as [command, ...args] (shell allowed) and how the report describes it. */
  readonly openssl: { readonly argv: readonly string[]; readonly description: string };
  /**
   * A durable copy of the same bytes (no hashing, no chunking) to `out`, as [command, ...args]: the disk's
   * share of sitecast's time, since the snapshot makes every byte durable and openssl writes nothing.
   */
  readonly durableCopy: (out: string) => { readonly argv: readonly string[]; readonly description: string };
  /** casync index file name: .caibx for a file (blob index), .caidx for a directory (archive index). */
  readonly casyncIndex: string;
}

interface Contender {
  readonly key: 'sitecast' | 'stage' | 'openssl' | 'casync' | 'disk';
  readonly label: string;
  readonly how: string;
  run(round: number): Promise<Measurement>;
}

export interface IngestComparison {
  readonly runs: ReadonlyMap<Contender['key'], readonly Measurement[]>;
  readonly body: string;
  readonly summary: readonly string[];
  readonly targets: readonly TargetCheck[];
}

const PACKAGE_ID = 'BEN00001';

const storeNothing: IngestSink = {
  hasChunk: () => false,
  addChunk: () => Promise.resolve(),
  flush: () => Promise.resolve(),
  end: () => Promise.resolve(),
};

function duBytes(path: string): number {
  const r = spawnSync('du', ['-sb', path], { encoding: 'utf8' });
  return Number((r.stdout ?? '').split('\t')[0]) || 0;
}

function countFiles(dir: string, suffix: string): number {
  const r = spawnSync('sh', ['-c', `find '${dir}' -type f -name '*${suffix}' | wc -l`], { encoding: 'utf8' });
  return Number((r.stdout ?? '').trim()) || 0;
}

export async function compareIngest(
  ctx: BenchContext,
  input: IngestInput,
  rounds: number,
): Promise<IngestComparison> {
  const warmFile = join(ctx.workDir, 'warm-up.bin');
  writeFileSync(warmFile, Buffer.alloc(4096, 1));
  const facts: Record<string, string> = {};
  const startups: number[] = [];
  let snap: SnapshotResult | undefined;

  const stagePool = new ChunkerPool();
  // Worker threads start on first use; a server has them running already, so start them untimed.
  await snapshotSource(warmFile, storeNothing, { packageId: PACKAGE_ID, sourceVersion: 1, pool: stagePool });

  const contenders: Contender[] = [
    {
      key: 'sitecast',
      label: 'sitecast ContentLibrary.snapshot',
      how: 'fresh library per run (2 chunker threads, pack store, fsync, manifest); worker start excluded',
      run: async (round) => {
        const dir = join(ctx.workDir, `library-${round}`);
        const lib = await ContentLibrary.open(dir);
        try {
          const t = performance.now();
          await lib.snapshot(warmFile, { packageId: PACKAGE_ID, sourceVersion: 1 });
          startups.push(performance.now() - t);
          const { value, m } = await measureInProcess(() =>
            lib.snapshot(input.source, { packageId: PACKAGE_ID, sourceVersion: 2 }),
          );
          snap = value;
          facts['sitecast pack files on disk'] = fmtBytes(duBytes(join(dir, 'packs')));
          return m;
        } finally {
          await lib.close();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
    {
      key: 'stage',
      label: 'sitecast chunk + hash only',
      how: 'snapshotSource into a sink that stores nothing (same pool shape): the CPU stage alone',
      run: async () =>
        (
          await measureInProcess(() =>
            snapshotSource(input.source, storeNothing, {
              packageId: PACKAGE_ID,
              sourceVersion: 1,
              pool: stagePool,
            }),
          )
        ).m,
    },
    {
      key: 'openssl',
      label: 'openssl dgst -sha256',
      how: input.openssl.description,
      run: () => runTimed(input.openssl.argv[0]!, input.openssl.argv.slice(1)),
    },
    {
      key: 'casync',
      label: 'casync make --digest=sha256',
      how: `\`casync make --digest=sha256 --store=<dir> index${input.casyncIndex} <input>\` (fresh store per run; casync compresses chunks, zstd by default, and writes one file per chunk)`,
      run: async (round) => {
        const store = join(ctx.workDir, `castore-${round}`);
        const index = join(ctx.workDir, `index-${round}${input.casyncIndex}`);
        try {
          const m = await runTimed('casync', [
            'make',
            '--digest=sha256',
            `--store=${store}`,
            index,
            input.source,
          ]);
          facts['casync store on disk'] =
            `${fmtBytes(duBytes(store))} in ${countFiles(store, '.cacnk')} chunk files`;
          return m;
        } finally {
          rmSync(store, { recursive: true, force: true });
          rmSync(index, { force: true });
        }
      },
    },
    {
      key: 'disk',
      label: 'reference: durable copy of the bytes',
      how: input.durableCopy('<out>').description,
      run: async (round) => {
        const out = join(ctx.workDir, `copy-${round}`);
        try {
          const { argv } = input.durableCopy(out);
          return await runTimed(argv[0]!, argv.slice(1));
        } finally {
          rmSync(out, { force: true });
        }
      },
    },
  ];

  const runs = new Map<Contender['key'], Measurement[]>(contenders.map((c) => [c.key, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < contenders.length; i++) {
        const c = contenders[(i + round) % contenders.length]!;
        warmPageCache(input.files);
        const m = await c.run(round);
        runs.get(c.key)!.push(m);
        ctx.log(
          `  round ${round + 1}/${rounds} ${c.label}: ${mibPerSec(input.bytes, m.wallMs).toFixed(1)} MiB/s, ` +
            `${cpuSecPerGib(input.bytes, m.cpuMs).toFixed(2)} CPU-s/GiB`,
        );
      }
    }
  } finally {
    await stagePool.close();
  }

  const med = (k: Contender['key']): Measurement => medianRun(runs.get(k)!);
  const rate = (k: Contender['key']): number => mibPerSec(input.bytes, med(k).wallMs);
  const cpuRate = (k: Contender['key']): number => input.bytes / (med(k).cpuMs / 1000);
  const rows = contenders.map((c) => {
    const m = med(c.key);
    const all = runs.get(c.key)!;
    return [
      c.label,
      `**${rate(c.key).toFixed(1)}**`,
      all.map((r) => mibPerSec(input.bytes, r.wallMs).toFixed(0)).join(' / '),
      fmtMs(m.wallMs),
      cpuSecPerGib(input.bytes, m.cpuMs).toFixed(2),
      m.maxRssBytes !== undefined ? fmtBytes(m.maxRssBytes) : '—',
      c.key === 'sitecast' ? '1.00×' : fmtRatio(rate('sitecast') / rate(c.key)),
      c.key === 'sitecast' ? '1.00×' : fmtRatio(cpuRate('sitecast') / cpuRate(c.key)),
    ];
  });
  const vsCasync = rate('sitecast') / rate('casync');
  const vsOpenssl = rate('sitecast') / rate('openssl');
  const targets: TargetCheck[] = [
    { name: 'throughput vs casync', target: '≥ 5× casync', measured: fmtRatio(vsCasync), met: vsCasync >= 5 },
    {
      name: 'throughput vs openssl',
      target: '≥ 0.8× openssl',
      measured: fmtRatio(vsOpenssl),
      met: vsOpenssl >= 0.8,
    },
  ];
  const s = snap!;
  const secs = (k: Contender['key']): string => (med(k).wallMs / 1000).toFixed(2);
  const cpu = (k: Contender['key']): string => cpuSecPerGib(input.bytes, med(k).cpuMs).toFixed(2);
  const where =
    `Where sitecast's time goes (medians): chunking + hashing alone take ${secs('stage')} s ` +
    `(${cpu('stage')} CPU-s/GiB); the full snapshot ${secs('sitecast')} s (${cpu('sitecast')} CPU-s/GiB), so ` +
    `the pack store (copy into pack buffers, writes, fdatasync, index, manifest) adds ` +
    `${((med('sitecast').wallMs - med('stage').wallMs) / 1000).toFixed(2)} s and ` +
    `${(cpuSecPerGib(input.bytes, med('sitecast').cpuMs) - cpuSecPerGib(input.bytes, med('stage').cpuMs)).toFixed(2)} CPU-s/GiB. ` +
    `Writing the same bytes durably (reference row) takes ${secs('disk')} s on this disk; openssl writes nothing.`;
  const body = [
    '## Results',
    '',
    `Median of ${rounds} runs (the run with the median wall time; its CPU figure is from the same run). ` +
      'Throughput = input bytes / wall time. CPU-s/GiB = user + system CPU of all threads (sitecast, in ' +
      'process) or of the command and its children (peers, from GNU time) per GiB of input: the figure ' +
      'that the shared machine disturbs least. "Ratio" columns are sitecast ÷ that tool (> 1: sitecast faster).',
    '',
    table(
      [
        'Tool',
        'MiB/s (median)',
        'MiB/s per run',
        'Wall (median)',
        'CPU-s/GiB',
        'Peak RSS',
        'Ratio (wall)',
        'Ratio (CPU)',
      ],
      rows,
    ),
    '',
    where,
    '',
    '## What ran',
    '',
    table(
      ['Tool', 'How'],
      contenders.map((c) => [c.label, c.how]),
    ),
    '',
    'Before every run of every tool: `sync` (no write-back left over from the previous run), then the input ' +
      'is read once (page cache warm); outputs are removed after each run, untimed.',
    '',
    '## Output',
    '',
    table(
      ['Fact', 'Value'],
      [
        ['sitecast chunks', `${s.chunkCount} (avg ${fmtBytes(s.totalBytes / Math.max(1, s.chunkCount))})`],
        ['sitecast files / bytes', `${s.fileCount} / ${fmtBytes(s.totalBytes)}`],
        [
          'sitecast worker start (untimed warm-up snapshot, median)',
          fmtMs(startups.sort((a, b) => a - b)[startups.length >> 1] ?? 0),
        ],
        ...Object.entries(facts),
      ],
    ),
  ].join('\n');
  const summary = [
    `sitecast ${rate('sitecast').toFixed(0)} MiB/s (chunk+hash alone ${rate('stage').toFixed(0)}), ` +
      `openssl ${rate('openssl').toFixed(0)}, casync ${rate('casync').toFixed(0)} MiB/s, ` +
      `durable dd copy ${rate('disk').toFixed(0)} MiB/s`,
    ...targets.map((t) => `${t.target}: ${t.measured} → ${t.met ? 'met' : 'NOT met'}`),
  ];
  return { runs, body, summary, targets };
}
