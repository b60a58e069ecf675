import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSitecastError, type ProgressEvent, type SitecastError } from '../kernel/index.js';
import { ChunkerPool } from './chunker-pool.js';
import { fastPseudoRandomBytes, useTempDirs } from './chunking.test-helpers.js';
import { MemorySink } from './memory-sink.test-helpers.js';
import { snapshotSource, type SourceSnapshot } from './snapshot.js';

const tempDir = useTempDirs();
// Small segments so multi-segment stitching runs inside snapshots too.
const pool = new ChunkerPool({ threads: 2, segmentBytes: 4 * 1024 * 1024 });
afterAll(() => pool.close());

const MiB = 1024 * 1024;

function snapshot(
  source: string,
  sink: MemorySink,
  extra: { signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void } = {},
): Promise<SourceSnapshot> {
  return snapshotSource(source, sink, { packageId: 'PS100001', sourceVersion: 3, pool, ...extra });
}

async function rejection(p: Promise<unknown>): Promise<SitecastError> {
  try {
    await p;
  } catch (e) {
    if (isSitecastError(e)) return e;
    throw e;
  }
  throw new Error('expected the snapshot to fail');
}

describe('snapshotSource', () => {
  it('snapshots a folder tree into a manifest whose chunks reassemble every file byte for byte', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'sub', 'deep'), { recursive: true });
    mkdirSync(join(root, 'empty'));
    mkdirSync(join(root, 'sub', 'emptier'));
    mkdirSync(join(root, 'only', 'leaf'), { recursive: true });
    writeFileSync(join(root, 'a.txt'), 'hello sitecast\n');
    writeFileSync(join(root, 'sub', 'big.bin'), fastPseudoRandomBytes(9 * MiB + 123, 1));
    writeFileSync(join(root, 'sub', 'deep', 'empty-file'), '');
    writeFileSync(join(root, 'sub', 'deep', 'copy.bin'), fastPseudoRandomBytes(300_000, 2));
    writeFileSync(join(root, 'sub', 'deep', 'same.bin'), fastPseudoRandomBytes(300_000, 2));
    writeFileSync(join(root, 'Ünïcödé name.txt'), 'ü');
    symlinkSync('sub/deep', join(root, 'linked-dir'));
    chmodSync(join(root, 'a.txt'), 0o640);
    utimesSync(join(root, 'a.txt'), new Date(1_700_000_000_250), new Date(1_700_000_000_500));

    const sink = new MemorySink();
    const events: ProgressEvent[] = [];
    const result = await snapshot(root, sink, { onProgress: (e) => events.push(e) });
    const m = result.manifest;

    expect(m).toMatchObject({ format: 1, packageId: 'PS100001', sourceVersion: 3 });
    expect(m.files.map((f) => f.path)).toEqual([
      'a.txt',
      'linked-dir/copy.bin',
      'linked-dir/empty-file',
      'linked-dir/same.bin',
      'sub/big.bin',
      'sub/deep/copy.bin',
      'sub/deep/empty-file',
      'sub/deep/same.bin',
      'Ünïcödé name.txt',
    ]);
    expect(m.directories).toEqual(['empty', 'only/leaf', 'sub/emptier']);
    const a = m.files[0]!;
    expect(a).toMatchObject({ size: 15, mode: 0o640, mtime: 1_700_000_000_500, chunks: [{ size: 15 }] });
    expect(m.files.find((f) => f.path === 'sub/deep/empty-file')).toMatchObject({ size: 0, chunks: [] });
    const big = m.files.find((f) => f.path === 'sub/big.bin')!;
    expect(big.mode).toBe(statSync(join(root, 'sub', 'big.bin')).mode & 0o777);
    expect(big.chunks.length).toBeGreaterThan(100);
    for (const f of m.files) expect(Number.isInteger(f.mtime)).toBe(true);
    sink.expectIdentical(m, root);

    const totalBytes = m.files.reduce((n, f) => n + f.size, 0);
    expect(result).toMatchObject({ totalBytes, fileCount: 9 });
    expect(result.chunkCount).toBe(m.files.reduce((n, f) => n + f.chunks.length, 0));
    // Identical files and the linked folder dedupe: each distinct chunk is added once.
    const distinct = new Map(m.files.flatMap((f) => f.chunks.map((c) => [c.id, c.size] as const)));
    expect(sink.addCalls).toBe(distinct.size);
    expect(result.newBytes).toBe([...distinct.values()].reduce((n, s) => n + s, 0));
    expect(sink.flushes).toBe(1);

    expect(events[0]).toMatchObject({ operation: 'snapshot', packageId: 'PS100001', bytesDone: 0 });
    expect(events.at(-1)).toMatchObject({ bytesDone: totalBytes, bytesTotal: totalBytes });
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
      expect(events[i]!.bytesDone).toBeLessThanOrEqual(events[i]!.bytesTotal);
    }
  });

  it('adds no chunk when nothing changed, and only a few when bytes change in the middle of 20 MiB', async () => {
    const root = tempDir();
    const data = fastPseudoRandomBytes(20 * MiB, 3);
    writeFileSync(join(root, 'image.wim'), data);
    writeFileSync(join(root, 'readme.txt'), 'v1');
    const sink = new MemorySink();
    const first = await snapshot(root, sink);

    const again = await snapshot(root, sink);
    expect(again.newBytes).toBe(0);
    expect(again.manifest).toEqual(first.manifest);
    const calls = sink.addCalls;

    data.set([1, 2, 3, 4, 5, 6, 7, 8], 10 * MiB + 777);
    writeFileSync(join(root, 'image.wim'), data);
    const edited = await snapshot(root, sink);
    const added = sink.addCalls - calls;
    expect(added).toBeGreaterThanOrEqual(1);
    expect(added).toBeLessThanOrEqual(2);
    expect(edited.newBytes).toBeLessThanOrEqual(2 * 256 * 1024);
    sink.expectIdentical(edited.manifest, root);
  });

  it('snapshots a single-file source as one file named by its base name', async () => {
    const root = tempDir();
    const wim = join(root, 'boot.wim');
    writeFileSync(wim, fastPseudoRandomBytes(700_000, 4));
    const sink = new MemorySink();
    const { manifest } = await snapshot(wim, sink);
    expect(manifest.files.map((f) => [f.path, f.size])).toEqual([['boot.wim', 700_000]]);
    expect(manifest.directories).toEqual([]);
    expect(sink.reassemble(manifest, 'boot.wim').equals(readFileSync(wim))).toBe(true);
  });

  it('reads a file again when it changed during the first read, and records its final content', async () => {
    const root = tempDir();
    const path = join(root, 'moving.bin');
    writeFileSync(path, fastPseudoRandomBytes(6 * MiB, 5));
    utimesSync(path, 1_600_000_000, 1_600_000_000);
    const final = fastPseudoRandomBytes(6 * MiB, 6);
    const sink = new MemorySink();
    let changed = false;
    sink.onAdd = () => {
      if (changed) return;
      changed = true;
      writeFileSync(path, final);
    };
    const { manifest } = await snapshot(root, sink);
    expect(changed).toBe(true);
    expect(sink.reassemble(manifest, 'moving.bin').equals(Buffer.from(final))).toBe(true);
    expect(manifest.files[0]!.mtime).toBe(Math.trunc(statSync(path).mtimeMs));
  });

  it('fails with SOURCE_CHANGING, returning nothing, when a file keeps changing while read', async () => {
    const root = tempDir();
    const path = join(root, 'log.txt');
    // Large enough that each read lasts longer than the scheduler leaves the writer waiting on a busy
    // 2-core machine (with 2 MiB, a starved writer once let all three reads see a still file).
    writeFileSync(path, fastPseudoRandomBytes(16 * MiB, 7));
    writeFileSync(join(root, 'stable.txt'), 'stable');
    // Another process appends in a tight loop, like a service writing its log into the source folder.
    const writer = spawn(
      process.execPath,
      ['-e', `const fs = require('fs'); for (;;) fs.appendFileSync(${JSON.stringify(path)}, 'x');`],
      { stdio: 'ignore' },
    );
    try {
      const initial = statSync(path).size;
      for (let i = 0; i < 200 && statSync(path).size === initial; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(statSync(path).size).toBeGreaterThan(initial);
      const sink = new MemorySink();
      let returned: SourceSnapshot | undefined;
      const e = await rejection(
        snapshot(root, sink).then((r) => {
          returned = r;
          return r;
        }),
      );
      expect(e.code).toBe('SOURCE_CHANGING');
      expect(e.message).toContain('log.txt');
      expect(e.message).toContain('kept changing while it was read');
      expect(returned).toBeUndefined();
      expect(sink.flushes).toBe(0);
    } finally {
      writer.kill();
    }
  });

  it('stops promptly with CANCELLED when aborted, without flushing', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'large.bin'), fastPseudoRandomBytes(48 * MiB, 8));
    const sink = new MemorySink();
    const ac = new AbortController();
    let abortedAt = 0;
    sink.onAdd = () => {
      if (sink.addCalls === 5) {
        abortedAt = Date.now();
        ac.abort();
      }
    };
    const e = await rejection(snapshot(root, sink, { signal: ac.signal }));
    expect(e.code).toBe('CANCELLED');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(sink.addCalls).toBeLessThan(40);
    expect(sink.flushes).toBe(0);

    const pre = new AbortController();
    pre.abort();
    expect((await rejection(snapshot(root, new MemorySink(), { signal: pre.signal }))).code).toBe(
      'CANCELLED',
    );
  });
});
