/**
 * ingest-tree: snapshot of a generated tree of 10,000 files (~1 GiB, mixed sizes) into a fresh content
 * library, beside openssl hashing every file and `casync make` of a directory archive index (.caidx).
 * The same targets as ingest-file: ≥ 5× casync and ≥ 0.8× openssl.
 */
import { join } from 'node:path';
import type { Benchmark, BenchContext, BenchResult } from './benchmark.js';
import { compareIngest } from './ingest-comparison.js';
import { generateTree } from './inputs.js';
import { table } from './report.js';
import { fmtBytes, GiB } from './timing.js';

const ROUNDS = 3;
const FILES = 10_000;

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const count = Math.max(100, Math.round(FILES * ctx.scale));
  const root = join(ctx.workDir, 'tree');
  ctx.log(`generating ${count} files (~${fmtBytes(GiB * ctx.scale)}) under ${root}`);
  const tree = generateTree(root, count, GiB * ctx.scale, 'ingest-tree');
  const c = await compareIngest(
    ctx,
    {
      source: root,
      files: tree.files,
      bytes: tree.totalBytes,
      openssl: {
        // Per file, as sitecast hashes per file; xargs batches the names, so only a few processes start.
        argv: ['sh', '-c', `find '${root}' -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null`],
        description:
          '`find <dir> -type f -print0 | xargs -0 openssl dgst -sha256`: every file hashed on its own, ' +
          'one thread (xargs starts a few openssl processes, one after another)',
      },
      durableCopy: (out) => ({
        // Not through a pipe: on this kernel `cat | dd` of many small files costs several CPU-seconds per
        // GiB in the pipe alone, which would flatter sitecast.
        argv: ['sh', '-c', `find '${root}' -type f -print0 | xargs -0 cat > '${out}' && sync -d '${out}'`],
        description:
          '`find <dir> -type f -print0 | xargs -0 cat > <out> && sync -d <out>`: every file read, their ' +
          'bytes written durably into one file',
      }),
      casyncIndex: '.caidx',
    },
    ROUNDS,
  );
  const body = [
    '## Input',
    '',
    table(
      ['Fact', 'Value'],
      [
        ['Files', String(tree.files.length)],
        ['Directories', `${tree.directories} (two levels)`],
        ['Total', fmtBytes(tree.totalBytes)],
        [
          'Sizes',
          `log-uniform 100 B – 1 MiB, scaled to the total; smallest ${fmtBytes(tree.smallest)}, median ` +
            `${fmtBytes(tree.medianSize)}, largest ${fmtBytes(tree.largest)}; every 1000th file empty`,
        ],
        ['Content', 'the same partly compressible AES-CTR stream as ingest-file, continued across files'],
      ],
    ),
    '',
    c.body,
  ].join('\n');
  return { body, summary: c.summary, targets: c.targets };
}

export const benchmark: Benchmark = {
  name: 'ingest-tree',
  title: 'Ingest of a 10,000-file tree: sitecast snapshot vs openssl and casync',
  peers: [
    { command: 'openssl', aptPackage: 'openssl' },
    { command: 'casync', aptPackage: 'casync' },
  ],
  run,
};
