import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../content/index.js';
import type { DpChunk } from '../dp-adapter.js';
import { mkdirOne } from './durable-fs.js';
import { FolderLayout } from './folder-layout.js';
import { IncomingChunks } from './incoming-chunks.js';

const A = 'PS100001';
const B = 'PS100002';

function chunk(size: number): DpChunk {
  const bytes = randomBytes(size);
  return { id: sha256Hex(bytes), bytes };
}

let base: string;
let layout: FolderLayout;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-incoming-'));
  layout = new FolderLayout(base);
  for (const dir of layout.internalDirs) await mkdirOne(dir);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function batchFiles(packageId: string): Promise<string[]> {
  return (await readdir(layout.packageIncoming(packageId)).catch(() => [] as string[])).sort();
}

describe('IncomingChunks', () => {
  it('stores a put as one batch file and reads every chunk back by id', async () => {
    const store = new IncomingChunks(layout);
    const chunks = [chunk(100), chunk(65_536), chunk(1)];
    await store.put(A, chunks);
    expect(await batchFiles(A)).toEqual(['00000000.chunks']);
    for (const c of chunks) {
      expect(await store.has(A, c.id)).toBe(true);
      expect(await store.size(A, c.id)).toBe(c.bytes.length);
      expect((await store.read(A, c.id))?.equals(c.bytes)).toBe(true);
    }
    expect((await store.ids(A)).sort()).toEqual(chunks.map((c) => c.id).sort());
    expect(await store.totals(A)).toEqual({ chunks: 3, bytes: 65_637 });
    const other = chunk(10);
    expect(await store.has(A, other.id)).toBe(false);
    expect(await store.read(A, other.id)).toBeNull();
    expect(await store.has(B, chunks[0]!.id)).toBe(false);
  });

  it('skips chunks already held and repeats within a put; a put of nothing new writes no file', async () => {
    const store = new IncomingChunks(layout);
    const [a, b, c] = [chunk(50), chunk(60), chunk(70)];
    await store.put(A, [a, b, a]);
    await store.put(A, [b, c]);
    await store.put(A, [a, c]);
    expect(await batchFiles(A)).toEqual(['00000000.chunks', '00000001.chunks']);
    expect((await readFile(join(layout.packageIncoming(A), '00000001.chunks'))).length).toBe(36 + 70);
    expect(await store.totals(A)).toEqual({ chunks: 3, bytes: 180 });
  });

  it('a new instance (a restart) rebuilds the index from the files and appends after them', async () => {
    const first = new IncomingChunks(layout);
    const early = [chunk(300), chunk(400)];
    await first.put(A, early);
    await first.put(B, [chunk(5)]);
    const restarted = new IncomingChunks(layout);
    expect((await restarted.ids(A)).sort()).toEqual(early.map((c) => c.id).sort());
    expect((await restarted.read(A, early[1]!.id))?.equals(early[1]!.bytes)).toBe(true);
    const late = chunk(500);
    await restarted.put(A, [early[0]!, late]);
    expect(await batchFiles(A)).toEqual(['00000000.chunks', '00000001.chunks']);
    expect(await new IncomingChunks(layout).totals(A)).toEqual({ chunks: 3, bytes: 1200 });
    expect(await new IncomingChunks(layout).totals(B)).toEqual({ chunks: 1, bytes: 5 });
  });

  it('ignores a batch file from its first bad frame on, and deletes leftover temp files', async () => {
    const store = new IncomingChunks(layout);
    const good = [chunk(200), chunk(300)];
    await store.put(A, good);
    const dir = layout.packageIncoming(A);
    // A frame cut short at the tail, then a file that is garbage from its first byte, then a temp file.
    const cut = chunk(1000);
    const header = Buffer.alloc(36);
    header.write(cut.id, 0, 32, 'hex');
    header.writeUInt32LE(cut.bytes.length, 32);
    await appendFile(join(dir, '00000000.chunks'), Buffer.concat([header, cut.bytes.subarray(0, 500)]));
    const garbage = Buffer.alloc(64, 0xff);
    await writeFile(join(dir, '00000001.chunks'), garbage);
    await writeFile(join(dir, '.tmp-0badc0de'), 'half a batch');

    const restarted = new IncomingChunks(layout);
    expect((await restarted.ids(A)).sort()).toEqual(good.map((c) => c.id).sort());
    expect(await restarted.has(A, cut.id)).toBe(false);
    expect(await batchFiles(A)).toEqual(['00000000.chunks', '00000001.chunks']);
    // The cut chunk can be sent again; it lands in a new file after the existing ones.
    await restarted.put(A, [cut]);
    expect(await batchFiles(A)).toEqual(['00000000.chunks', '00000001.chunks', '00000002.chunks']);
    expect((await new IncomingChunks(layout).read(A, cut.id))?.equals(cut.bytes)).toBe(true);
  });

  it('drop forgets a chunk durably, so a restart does not claim it again', async () => {
    const store = new IncomingChunks(layout);
    const [a, b] = [chunk(10), chunk(20)];
    await store.put(A, [a, b]);
    await store.drop(A, a.id);
    expect(await store.has(A, a.id)).toBe(false);
    const restarted = new IncomingChunks(layout);
    expect(await restarted.ids(A)).toEqual([b.id]);
    expect((await restarted.read(A, b.id))?.equals(b.bytes)).toBe(true);
    // Received again, it is stored again.
    await restarted.put(A, [a]);
    expect((await new IncomingChunks(layout).read(A, a.id))?.equals(a.bytes)).toBe(true);
  });

  it('release deletes the files whose every chunk was consumed, then the folder once it is empty', async () => {
    const store = new IncomingChunks(layout);
    const [a, b, c, d] = [chunk(10), chunk(20), chunk(30), chunk(40)];
    await store.put(A, [a, b]);
    await store.put(A, [c, d]);
    await store.release(A, new Set([a.id, b.id, c.id]));
    expect(await batchFiles(A)).toEqual(['00000001.chunks']);
    expect(await store.ids(A)).toEqual([c.id, d.id]);
    expect(await new IncomingChunks(layout).totals(A)).toEqual({ chunks: 2, bytes: 70 });
    await store.release(A, new Set([c.id, d.id]));
    expect(await readdir(layout.incoming)).toEqual([]);
    expect(await store.totals(A)).toEqual({ chunks: 0, bytes: 0 });
  });

  it('discard deletes one package and leaves another', async () => {
    const store = new IncomingChunks(layout);
    const [a, b] = [chunk(10), chunk(20)];
    await store.put(A, [a]);
    await store.put(B, [b]);
    await store.discard(A);
    expect(await store.has(A, a.id)).toBe(false);
    expect(await readdir(layout.incoming)).toEqual([B]);
    expect(await store.packageIds()).toEqual([B]);
    expect((await store.read(B, b.id))?.equals(b.bytes)).toBe(true);
    await store.put(A, [a]);
    expect(await new IncomingChunks(layout).ids(A)).toEqual([a.id]);
  });
});
