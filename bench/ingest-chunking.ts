/**
 * Ingest throughput: FastCDC + SHA-256 of one large generated file on the chunker pool's worker threads,
 * with a no-op ingest sink, compared with `openssl dgst -sha256` (one core) on the same file.
 *
 *   npx tsx bench/ingest-chunking.ts [--mib 1024] [--threads 2] [--runs 2] [--keep]
 *
 * The file is pseudo-random (AES-CTR keystream), so it does not dedupe and chunks average ~73 KiB.
 * Runs after the first read the file from the page cache, as a refresh of a recently copied source does.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChunkerPool } from '../src/content/chunker-pool.js';
import { snapshotSource } from '../src/content/snapshot.js';
import type { IngestSink } from '../src/content/types.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const mib = Number(values.mib);
const threads = Number(values.threads);
const runs = Number(values.runs);

const dir = mkdtempSync(join(tmpdir(), 'sitecast-bench-'));
const file = join(dir, 'image.wim');

function generate(): void {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
  const zeros = new Uint8Array(16 * 1024 * 1024);
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < mib * 1024 * 1024; written += zeros.length)
      writeSync(fd, cipher.update(zeros));
  } finally {
    closeSync(fd);
  }
}

function rate(bytes: number, ms: number): string {
  return `${(((bytes / 1024 / 1024) * 1000) / ms).toFixed(1)} MiB/s`;
}

/** Wall-clock rate, plus the CPU it took: on a shared machine, CPU-seconds per GiB is the stable figure. */
function report(label: string, bytes: number, wallMs: number, cpuMs: number, extra = ''): void {
  const gib = bytes / 1024 ** 3;
  console.log(
    `${label.padEnd(30)} ${rate(bytes, wallMs).padStart(14)} wall, ${(cpuMs / 1000 / gib).toFixed(2)} CPU-s/GiB ` +
      `(${rate(bytes, cpuMs / (label.startsWith('openssl') ? 1 : threads))} per core-share) ${extra}`,
  );
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

const noopSink: IngestSink = {
  hasChunk: () => false,
  addChunk: () => Promise.resolve(),
  flush: () => Promise.resolve(),
  end: () => Promise.resolve(),
};

async function main(): Promise<void> {
  generate();
  const bytes = mib * 1024 * 1024;
  console.log(
    `file: ${mib} MiB pseudo-random, ${threads} worker thread(s), load average ${loadavg()[0]!.toFixed(1)}`,
  );

  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    // `times` prints the shell's children's user and system CPU after openssl ran.
    const out = execFileSync('sh', ['-c', `openssl dgst -sha256 '${file}' >/dev/null; times`], {
      encoding: 'utf8',
    });
    const wall = performance.now() - t;
    const [, um, us, sm, ss] = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim())!;
    const cpu = (Number(um) * 60 + Number(us) + Number(sm) * 60 + Number(ss)) * 1000;
    report(`openssl dgst -sha256 run ${r + 1}`, bytes, wall, cpu);
  }

  const pool = new ChunkerPool({ threads });
  try {
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const cpu = process.cpuUsage();
      let chunks = 0;
      for await (const c of pool.chunkFile(file, bytes)) chunks += c.size > 0 ? 1 : 0;
      report(
        `pool.chunkFile run ${r + 1}`,
        bytes,
        performance.now() - t,
        cpuMsSince(cpu),
        `${chunks} chunks, avg ${(bytes / chunks / 1024).toFixed(1)} KiB`,
      );
    }
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const cpu = process.cpuUsage();
      const s = await snapshotSource(file, noopSink, { packageId: 'BEN00001', sourceVersion: 1, pool });
      report(`snapshot, no-op sink run ${r + 1}`, s.totalBytes, performance.now() - t, cpuMsSince(cpu));
    }
    const st = pool.stats;
    console.log(
      `stitching: ${st.readerChunks} chunks (${(st.readerBytes / 1024 / 1024).toFixed(1)} MiB) cut on the main thread, ${st.resubmits} resubmits`,
    );
  } finally {
    await pool.close();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${file}`);
  }
}

await main();
