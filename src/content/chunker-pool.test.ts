import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSitecastError, type SitecastError } from '../kernel/index.js';
import { ChunkerPool, type ChunkerPoolOptions } from './chunker-pool.js';
import { fastPseudoRandomBytes, useTempDirs } from './chunking.test-helpers.js';
import { chunkBoundaries, createChunker } from './fastcdc.js';
import { sha256Hex } from './manifest.js';

const tempDir = useTempDirs();
const pools: ChunkerPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function newPool(options: ChunkerPoolOptions = {}): ChunkerPool {
  const pool = new ChunkerPool(options);
  pools.push(pool);
  return pool;
}

interface Seen {
  readonly offset: number;
  readonly size: number;
  readonly id: string;
}

function sequential(data: Uint8Array): Seen[] {
  let prev = 0;
  return chunkBoundaries(data, createChunker()).map((cut) => {
    const c = { offset: prev, size: cut - prev, id: sha256Hex(data.subarray(prev, cut)) };
    prev = cut;
    return c;
  });
}

async function viaPool(pool: ChunkerPool, path: string, size: number, signal?: AbortSignal): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const c of pool.chunkFile(path, size, { signal })) {
    expect(sha256Hex(c.bytes)).toBe(c.id);
    out.push({ offset: c.offset, size: c.size, id: c.id });
  }
  return out;
}

/** A seeded mix of random runs, zero runs and repeated blocks: the shapes that make chains diverge. */
function mixedFile(seed: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  let rng = seed;
  const next = (n: number): number => {
    rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
    return rng % n;
  };
  let pos = 0;
  while (pos < size) {
    const len = Math.min(size - pos, 1 + next(1024 * 1024));
    const kind = next(3);
    if (kind === 0) data.set(fastPseudoRandomBytes(len, next(1 << 30)), pos);
    else if (kind === 2 && pos > len) data.copyWithin(pos, pos - len, pos);
    pos += len; // kind 1 stays zero
  }
  return data;
}

function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

async function failure(p: Promise<unknown>): Promise<SitecastError> {
  try {
    await p;
  } catch (e) {
    if (isSitecastError(e)) return e;
    throw e;
  }
  throw new Error('expected a SitecastError');
}

describe('ChunkerPool', () => {
  it('gives exactly the boundaries and ids of sequential chunking, for random files and segment sizes', async () => {
    const dir = tempDir();
    let seed = 20261126;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const configs: ChunkerPoolOptions[] = [
      { threads: 2, segmentBytes: 256 * 1024, blockBytes: 64 * 1024 },
      { threads: 2, segmentBytes: 300 * 1024, blockBytes: 200 * 1024 + rnd(100_000) },
      { threads: 2, segmentBytes: 400 * 1024 + rnd(400_000), maxBytesInFlight: 1 },
    ];
    const totals = { readerChunks: 0, resubmits: 0 };
    for (const [ci, config] of configs.entries()) {
      const pool = newPool(config);
      const files = Array.from({ length: 6 }, (_, i) => {
        const size = i === 0 ? 0 : i === 1 ? 1 + rnd(20_000) : rnd(3 * 1024 * 1024);
        const data = mixedFile(rnd(1 << 30), size);
        const path = join(dir, `f${ci}-${i}.bin`);
        writeFileSync(path, data);
        return { path, data };
      });
      // Several files at once, as snapshots read them.
      const results = await Promise.all(files.map((f) => viaPool(pool, f.path, f.data.length)));
      for (const [i, f] of files.entries()) {
        expect(results[i], `${f.path}, segment ${config.segmentBytes}`).toEqual(sequential(f.data));
      }
      totals.readerChunks += pool.stats.readerChunks;
      totals.resubmits += pool.stats.resubmits;
    }
    // Both stitching paths ran: the reader resynchronised, and gave up on zero runs at least once.
    expect(totals.readerChunks).toBeGreaterThan(0);
    expect(totals.resubmits).toBeGreaterThan(0);
  });

  it('spreads one large file over all threads, reusing its shared buffers', async () => {
    const dir = tempDir();
    const data = fastPseudoRandomBytes(12 * 1024 * 1024, 99);
    writeFileSync(join(dir, 'big.bin'), data);
    // 24 segments of 32 batches each, against 4 shared blocks per worker: only reuse keeps up.
    const pool = newPool({ threads: 2, segmentBytes: 512 * 1024, blockBytes: 128 * 1024 });
    for (let run = 0; run < 2; run++) {
      expect(await viaPool(pool, join(dir, 'big.bin'), data.length)).toEqual(sequential(data));
    }
    expect(pool.liveThreads).toBe(2);
    expect(pool.stats.batches).toBeGreaterThan(100);
    expect(pool.stats.unsharedBatches).toBeLessThanOrEqual(pool.stats.batches / 10);
  });

  it('names the file when it is missing, shorter than announced or a directory', async () => {
    const dir = tempDir();
    const pool = newPool({ threads: 1 });
    const missing = join(dir, 'nope.bin');
    const e1 = await failure(viaPool(pool, missing, 10));
    expect(e1.code).toBe('SOURCE_NOT_FOUND');
    expect(e1.message).toContain(missing);

    writeFileSync(join(dir, 'short.bin'), fastPseudoRandomBytes(100_000, 3));
    const e2 = await failure(viaPool(pool, join(dir, 'short.bin'), 400_000));
    expect(e2.code).toBe('SOURCE_CHANGING');
    expect(e2.message).toContain('short.bin');

    const e3 = await failure(viaPool(pool, dir, 10));
    expect(e3.code).toBe('FAILED');
    expect(e3.message).toContain(dir);
  });

  it('stops promptly on abort and stays usable', async () => {
    const dir = tempDir();
    const data = fastPseudoRandomBytes(24 * 1024 * 1024, 5);
    const path = join(dir, 'big.bin');
    writeFileSync(path, data);
    const pool = newPool({ threads: 2, segmentBytes: 4 * 1024 * 1024 });
    const ac = new AbortController();
    let seen = 0;
    let abortedAt = 0;
    const e = await failure(
      (async () => {
        for await (const _ of pool.chunkFile(path, data.length, { signal: ac.signal })) {
          if (++seen === 3) {
            abortedAt = Date.now();
            ac.abort();
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
    expect(e.code).toBe('CANCELLED');
    expect(seen).toBeLessThan(10);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    const small = fastPseudoRandomBytes(500_000, 6);
    writeFileSync(join(dir, 'small.bin'), small);
    expect(await viaPool(pool, join(dir, 'small.bin'), small.length)).toEqual(sequential(small));
  });

  it('turns a crashing worker into a SitecastError, not a hang', async () => {
    const dir = tempDir();
    const script = join(dir, 'crash-worker.mjs');
    writeFileSync(
      script,
      "import { parentPort } from 'node:worker_threads';\n" +
        "parentPort.on('message', () => { throw new Error('boom in worker'); });\n",
    );
    writeFileSync(join(dir, 'a.bin'), fastPseudoRandomBytes(1000, 1));
    const pool = newPool({ threads: 1, workerScript: new URL(`file://${script}`) });
    const e = await failure(viaPool(pool, join(dir, 'a.bin'), 1000));
    expect(e.code).toBe('FAILED');
    expect(e.message).toMatch(/boom in worker/);
    expect(e.message).toContain('a.bin');
  });

  it('leaves no threads running after close, and fails reads in progress with CANCELLED', async () => {
    const dir = tempDir();
    readFileSync(import.meta.filename); // warm libuv's own threads before counting
    const before = threadCount();
    const data = fastPseudoRandomBytes(12 * 1024 * 1024, 8);
    writeFileSync(join(dir, 'f.bin'), data);
    const pool = new ChunkerPool({ threads: 2, segmentBytes: 1024 * 1024 });
    const reading = viaPool(pool, join(dir, 'f.bin'), data.length);
    const outcome = failure(reading);
    await new Promise((r) => setTimeout(r, 20));
    expect(threadCount()).toBeGreaterThan(before);
    await pool.close();
    expect((await outcome).code).toBe('CANCELLED');
    expect(pool.liveThreads).toBe(0);
    for (let i = 0; i < 50 && threadCount() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(threadCount()).toBeLessThanOrEqual(before);
    expect(() => pool.chunkFile(join(dir, 'f.bin'), data.length)).toThrow(/closed/);
  });
});
