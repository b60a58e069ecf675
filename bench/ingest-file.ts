/**
 * ingest-file: snapshot of one 1 GiB generated file (pseudo-random, partly compressible) into a fresh
 * content library, beside `openssl dgst -sha256` and `casync make` (blob index) on the same file.
 * Targets: ≥ 5× casync and ≥ 0.8× openssl.
 */
import { join } from 'node:path';
import type { Benchmark, BenchContext, BenchResult } from './benchmark.js';
import { compareIngest } from './ingest-comparison.js';
import { generateFile } from './inputs.js';
import { fmtBytes, GiB, MiB } from './timing.js';

const ROUNDS = 3;

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const bytes = Math.max(MiB, Math.round((GiB * ctx.scale) / MiB) * MiB);
  const file = join(ctx.workDir, 'input', 'image.wim');
  ctx.log(`generating ${fmtBytes(bytes)} at ${file}`);
  generateFile(file, bytes, 'ingest-file');
  const c = await compareIngest(
    ctx,
    {
      source: file,
      files: [file],
      bytes,
      openssl: {
        argv: ['openssl', 'dgst', '-sha256', file],
        description: '`openssl dgst -sha256 <file>`: one process, one thread',
      },
      durableCopy: (out) => ({
        argv: ['dd', `if=${file}`, `of=${out}`, 'bs=8M', 'conv=fdatasync', 'status=none'],
        description:
          '`dd if=<file> of=<out> bs=8M conv=fdatasync`: what writing the bytes durably costs on this disk',
      }),
      casyncIndex: '.caibx',
    },
    ROUNDS,
  );
  const body = [
    '## Input',
    '',
    `One file of ${fmtBytes(bytes)}: an AES-CTR keystream in which about half of the 64 KiB pieces are ` +
      'mapped onto a 16-letter alphabet (compresses to roughly 75 %; no two chunks are equal).',
    '',
    c.body,
  ].join('\n');
  return { body, summary: c.summary, targets: c.targets };
}

export const benchmark: Benchmark = {
  name: 'ingest-file',
  title: 'Ingest of a 1 GiB file: sitecast snapshot vs openssl and casync',
  peers: [
    { command: 'openssl', aptPackage: 'openssl' },
    { command: 'casync', aptPackage: 'casync' },
  ],
  run,
};
