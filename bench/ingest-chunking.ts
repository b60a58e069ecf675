/**
 * ingest-chunking: the CPU stage of ingest alone — FastCDC + SHA-256 of one 1 GiB generated file on the
 * chunker pool's worker threads (1 and 2 threads), chunks consumed and dropped — beside
 * `openssl dgst -sha256` (one core) on the same file. No target of its own: it shows how much of
 * ingest-file's time is chunking and hashing, and how well a second thread scales.
 */
import { join } from 'node:path';
import { ChunkerPool } from '../src/content/index.js';
import type { Benchmark, BenchContext, BenchResult } from './benchmark.js';
import { generateFile, warmPageCache } from './inputs.js';
import { runTimed } from './peers.js';
import { table } from './report.js';
import {
  cpuSecPerGib,
  fmtBytes,
  fmtMs,
  GiB,
  measureInProcess,
  medianRun,
  MiB,
  mibPerSec,
  type Measurement,
} from './timing.js';

const ROUNDS = 3;

async function chunkAll(pool: ChunkerPool, file: string, bytes: number): Promise<number> {
  let chunks = 0;
  for await (const c of pool.chunkFile(file, bytes)) chunks += c.size > 0 ? 1 : 0;
  return chunks;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const bytes = Math.max(MiB, Math.round((GiB * ctx.scale) / MiB) * MiB);
  const file = join(ctx.workDir, 'input', 'image.wim');
  ctx.log(`generating ${fmtBytes(bytes)}`);
  generateFile(file, bytes, 'ingest-file');
  const rows: string[][] = [];
  const lines: string[] = [];
  let chunkCount = 0;

  const openssl: Measurement[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    warmPageCache([file]);
    openssl.push(await runTimed('openssl', ['dgst', '-sha256', file]));
  }
  const o = medianRun(openssl);
  const opensslRate = mibPerSec(bytes, o.wallMs);
  rows.push([
    'openssl dgst -sha256 (1 thread)',
    `**${opensslRate.toFixed(1)}**`,
    fmtMs(o.wallMs),
    cpuSecPerGib(bytes, o.cpuMs).toFixed(2),
    '1.00×',
    '—',
  ]);

  for (const threads of [1, 2]) {
    const pool = new ChunkerPool({ threads });
    try {
      await chunkAll(pool, file, Math.min(bytes, MiB)); // start the workers, untimed
      const runs: Measurement[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        warmPageCache([file]);
        const { value, m } = await measureInProcess(() => chunkAll(pool, file, bytes));
        chunkCount = value;
        runs.push(m);
        ctx.log(`  ${threads} thread(s) run ${r + 1}: ${mibPerSec(bytes, m.wallMs).toFixed(1)} MiB/s`);
      }
      const m = medianRun(runs);
      const rate = mibPerSec(bytes, m.wallMs);
      const st = pool.stats;
      rows.push([
        `pool.chunkFile, ${threads} thread(s)`,
        `**${rate.toFixed(1)}**`,
        fmtMs(m.wallMs),
        cpuSecPerGib(bytes, m.cpuMs).toFixed(2),
        `${(rate / opensslRate).toFixed(2)}×`,
        `${st.readerChunks} chunks / ${fmtBytes(st.readerBytes)} cut on the main thread, ${st.resubmits} resubmits`,
      ]);
      lines.push(`chunkFile ${threads}T ${rate.toFixed(0)} MiB/s`);
    } finally {
      await pool.close();
    }
  }

  const body = [
    '## Results',
    '',
    `One ${fmtBytes(bytes)} file (the ingest-file input: partly compressible AES-CTR stream), page cache ` +
      `warm before every run, median of ${ROUNDS} runs. ${chunkCount} chunks, average ` +
      `${fmtBytes(bytes / Math.max(1, chunkCount))}. The chunks are consumed and dropped: no store, no manifest.`,
    '',
    table(['What', 'MiB/s', 'Wall', 'CPU-s/GiB', 'vs openssl', 'Stitching (cumulative)'], rows),
  ].join('\n');
  return { body, summary: [`openssl ${opensslRate.toFixed(0)} MiB/s; ${lines.join('; ')}`], targets: [] };
}

export const benchmark: Benchmark = {
  name: 'ingest-chunking',
  title: 'Chunk + hash throughput of the chunker pool',
  peers: [{ command: 'openssl', aptPackage: 'openssl' }],
  run,
};
