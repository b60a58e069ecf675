import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSitecastError, type SitecastError } from '../kernel/index.js';
import { ChunkerPool } from './chunker-pool.js';
import { fastPseudoRandomBytes, useTempDirs } from './chunking.test-helpers.js';
import { chunkBoundaries, createChunker } from './fastcdc.js';
import type { WholeFile, WholeFileProblem } from './files-stream.js';
import { sha256Hex } from './manifest.js';
import { MemorySink } from './memory-sink.test-helpers.js';
import { snapshotSource } from './snapshot.js';

const tempDir = useTempDirs();
const pool = new ChunkerPool({ threads: 2, segmentBytes: 4 * 1024 * 1024 });
afterAll(() => pool.close());

const KiB = 1024;
const MiB = 1024 * KiB;

function expectedChunks(data: Uint8Array): { size: number; id: string }[] {
  let prev = 0;
  return chunkBoundaries(data, createChunker()).map((cut) => {
    const c = { size: cut - prev, id: sha256Hex(data.subarray(prev, cut)) };
    prev = cut;
    return c;
  });
}

async function rejection(p: Promise<unknown>): Promise<SitecastError> {
  try {
    await p;
  } catch (e) {
    if (isSitecastError(e)) return e;
    throw e;
  }
  throw new Error('expected a SitecastError');
}

function snapshot(root: string, sink: MemorySink, signal?: AbortSignal): ReturnType<typeof snapshotSource> {
  return snapshotSource(root, sink, { packageId: 'PS100002', sourceVersion: 1, pool, signal });
}

describe('snapshot of many small files', () => {
  it('chunks each file from its start, never across files, with the boundaries of sequential chunking', async () => {
    const root = tempDir();
    const contents = new Map<string, Uint8Array>();
    for (let i = 0; i < 400; i++) {
      // Log-spread sizes 0 B – 1.5 MiB: groups, group edges, and files that go by segments.
      const size =
        i % 50 === 0 ? 0 : Math.floor(Math.exp((((i * 7919) % 1000) / 1000) * Math.log(1.5 * MiB)));
      const name = `d${i % 7}/f${String(i).padStart(3, '0')}.bin`;
      mkdirSync(join(root, `d${i % 7}`), { recursive: true });
      const data = fastPseudoRandomBytes(size, 1000 + (i % 350)); // some files identical: dedupe across groups
      writeFileSync(join(root, name), data);
      contents.set(name, data);
    }
    const sink = new MemorySink();
    const batchesBefore = pool.stats.batches;
    const result = await snapshot(root, sink);
    const m = result.manifest;
    expect(m.files).toHaveLength(400);
    for (const f of m.files) {
      const data = contents.get(f.path)!;
      expect(f.size).toBe(data.length);
      expect(f.chunks).toEqual(expectedChunks(data));
      const st = statSync(join(root, f.path));
      expect(f.mode).toBe(st.mode & 0o777);
      expect(f.mtime).toBe(Math.trunc(st.mtimeMs));
    }
    sink.expectIdentical(m, root);
    const distinct = new Set(m.files.flatMap((f) => f.chunks.map((c) => c.id)));
    expect(sink.addCalls).toBe(distinct.size);
    // Grouped: far fewer worker messages than files.
    expect(pool.stats.batches - batchesBefore).toBeLessThan(200);
  });

  it(
    'fails with SOURCE_CHANGING naming a small file another process keeps appending to',
    { timeout: 60_000 },
    async () => {
      const root = tempDir();
      for (let i = 0; i < 20; i++) writeFileSync(join(root, `quiet-${i}.txt`), `quiet ${i}`);
      const path = join(root, 'busy.log');
      writeFileSync(path, fastPseudoRandomBytes(512 * KiB, 9));
      const writer = spawn(
        process.execPath,
        [
          '-e',
          `const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(path)}, 'a'); for (;;) fs.writeSync(fd, 'x');`,
        ],
        { stdio: 'ignore' },
      );
      try {
        const initial = statSync(path).size;
        for (let i = 0; i < 200 && statSync(path).size === initial; i++)
          await new Promise((r) => setTimeout(r, 25));
        // A read can fall between two appends when the writer is off the CPU (the machine is shared, and CI
        // runs two test files at once): then what was recorded must be a state the file really had. Within
        // some tries (bounded in count and time) one must be caught.
        let caught: SitecastError | undefined;
        const deadline = Date.now() + 20_000;
        for (let attempt = 0; attempt < 200 && !caught && Date.now() < deadline; attempt++) {
          const sink = new MemorySink();
          try {
            const { manifest } = await snapshot(root, sink);
            const busy = manifest.files.find((f) => f.path === 'busy.log')!;
            const now = readFileSync(path);
            expect(sink.reassemble(manifest, 'busy.log').equals(now.subarray(0, busy.size))).toBe(true);
          } catch (e) {
            if (!isSitecastError(e)) throw e;
            caught = e;
            expect(sink.flushes).toBe(0);
          }
        }
        expect(caught?.code).toBe('SOURCE_CHANGING');
        expect(caught?.message).toContain('busy.log');
        expect(caught?.message).toContain('kept changing while it was read (3 attempts)');
      } finally {
        writer.kill();
      }
    },
  );

  it('stops promptly with CANCELLED when aborted in the middle of small files', async () => {
    const root = tempDir();
    for (let i = 0; i < 600; i++) writeFileSync(join(root, `f${i}.bin`), fastPseudoRandomBytes(200 * KiB, i));
    const sink = new MemorySink();
    const ac = new AbortController();
    let abortedAt = 0;
    sink.onAdd = () => {
      if (sink.addCalls === 5) {
        abortedAt = Date.now();
        ac.abort();
      }
    };
    const e = await rejection(snapshot(root, sink, ac.signal));
    expect(e.code).toBe('CANCELLED');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(sink.addCalls).toBeLessThan(200);
    expect(sink.flushes).toBe(0);
  });
});

describe('ChunkerPool.chunkFiles', () => {
  async function all(paths: string[], bytes: number): Promise<(WholeFile | WholeFileProblem)[]> {
    const out: (WholeFile | WholeFileProblem)[] = [];
    for await (const f of pool.chunkFiles(paths, bytes, { attempts: 3 })) {
      if ('chunks' in f) {
        for (const c of f.chunks) expect(sha256Hex(c.bytes)).toBe(c.id);
        out.push({ ...f, chunks: f.chunks.map((c) => ({ ...c, bytes: new Uint8Array(0) })) });
      } else out.push(f);
    }
    return out;
  }

  it('reports a missing file, a folder and a file too large for a block per file, and reads the rest', async () => {
    const root = tempDir();
    const ok = fastPseudoRandomBytes(300 * KiB, 3);
    writeFileSync(join(root, 'ok.bin'), ok);
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'big.bin'), fastPseudoRandomBytes(6 * MiB, 4));
    writeFileSync(join(root, 'empty'), '');
    const paths = ['ok.bin', 'missing', 'dir', 'big.bin', 'empty'].map((n) => join(root, n));
    const got = await all(paths, 300 * KiB);
    expect(got.map((f) => ('problem' in f ? f.problem : 'ok'))).toEqual([
      'ok',
      'GONE',
      'NOT_FILE',
      'TOO_LARGE',
      'ok',
    ]);
    const first = got[0] as WholeFile;
    expect(first.chunks.map((c) => ({ size: c.size, id: c.id }))).toEqual(expectedChunks(ok));
    expect(first.size).toBe(ok.length);
    expect((got[4] as WholeFile).chunks).toEqual([]);
    expect(readFileSync(paths[0]!).length).toBe(ok.length);
  });
});
