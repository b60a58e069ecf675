import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from './manifest.js';
import { PackStore } from './pack-store.js';

function chunk(size = 4096): { id: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  return { id: sha256Hex(bytes), bytes };
}

let root: string;
let store: PackStore | null = null;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sitecast-packs-'));
});

afterEach(async () => {
  await store?.close();
  store = null;
  await rm(root, { recursive: true, force: true });
});

async function openStore(options: Parameters<typeof PackStore.open>[1] = {}): Promise<PackStore> {
  store = await PackStore.open(root, options);
  return store;
}

describe('PackStore', () => {
  it('round-trips put, has and get', async () => {
    const s = await openStore();
    const a = chunk(1000);
    const b = chunk(70_000);
    const absent = chunk(10);
    await s.put(a.id, a.bytes);
    await s.putMany([b]);
    expect(await s.has([a.id, b.id, absent.id])).toEqual(new Set([a.id, b.id]));
    expect((await s.get(a.id)).equals(a.bytes)).toBe(true);
    expect((await s.get(b.id)).equals(b.bytes)).toBe(true);
    await expect(s.get(absent.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(s.get('not-an-id')).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(s.stats()).toMatchObject({ chunks: 2, chunkBytes: 71_000, reclaimableBytes: 0 });
  });

  it('rejects a put whose bytes do not hash to the id, naming the id, and stores nothing', async () => {
    const s = await openStore();
    const a = chunk();
    const b = chunk();
    const err = await s.put(a.id, b.bytes).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HASH_MISMATCH' });
    expect((err as Error).message).toContain(a.id);
    // One bad chunk in a batch rejects the batch before anything is written.
    await expect(s.putMany([b, { id: a.id, bytes: b.bytes }])).rejects.toMatchObject({
      code: 'HASH_MISMATCH',
    });
    expect((await s.has([a.id, b.id])).size).toBe(0);
    expect(s.stats().packs).toBe(0);
  });

  it('finds everything again after close and reopen', async () => {
    let s = await openStore({ packBytes: 64 * 1024 });
    const chunks = Array.from({ length: 40 }, () => chunk(8192));
    const session = s.beginIngest();
    for (const c of chunks.slice(0, 30)) await session.addChunk(c.id, c.bytes);
    await session.flush();
    await session.end();
    for (const c of chunks.slice(30)) await s.put(c.id, c.bytes);
    const before = s.stats();
    expect(before.packs).toBeGreaterThan(2); // rolled over at 64 KiB
    await s.close();

    s = await openStore();
    expect(s.stats()).toMatchObject({ chunks: 40, packs: before.packs, packBytes: before.packBytes });
    for (const c of chunks) expect((await s.get(c.id)).equals(c.bytes)).toBe(true);
    // New packs continue the sequence instead of overwriting old ones.
    const extra = chunk();
    await s.put(extra.id, extra.bytes);
    expect(s.stats().packs).toBe(before.packs + 1);
    for (const c of chunks) expect((await s.get(c.id)).equals(c.bytes)).toBe(true);
  });

  it('stores a chunk added twice only once, within and across sessions', async () => {
    const s = await openStore();
    const a = chunk(5000);
    const b = chunk(6000);
    const one = s.beginIngest();
    await one.addChunk(a.id, a.bytes);
    await one.addChunk(a.id, a.bytes);
    expect(one.hasChunk(a.id)).toBe(true); // its own unflushed chunk
    await one.addChunk(b.id, b.bytes);
    await one.flush();
    await one.end();
    const two = s.beginIngest();
    expect(two.hasChunk(a.id)).toBe(true);
    await two.addChunk(a.id, a.bytes);
    await two.flush();
    await two.end();
    await s.put(b.id, b.bytes);
    expect(s.stats()).toMatchObject({ chunks: 2, packs: 1, packBytes: 11_000 });
  });

  it('keeps unflushed chunks invisible to other sessions and discards them on end()', async () => {
    const s = await openStore();
    const a = chunk();
    const writer = s.beginIngest();
    const reader = s.beginIngest();
    await writer.addChunk(a.id, a.bytes);
    expect(reader.hasChunk(a.id)).toBe(false);
    expect(await s.has([a.id])).toEqual(new Set());
    await writer.end();
    await reader.end();
    expect(await readdir(join(root, 'packs'))).toEqual([]);
    await expect(writer.addChunk(a.id, a.bytes)).rejects.toMatchObject({ code: 'FAILED' });
  });

  it('makes flushed chunks visible and durable while the session stays open', async () => {
    const s = await openStore();
    const a = chunk();
    const session = s.beginIngest();
    await session.addChunk(a.id, a.bytes);
    await session.flush();
    expect((await s.get(a.id)).equals(a.bytes)).toBe(true);
    expect(s.stats().pinnedChunks).toBe(1);
    await session.end();
    expect(s.stats().pinnedChunks).toBe(0);
  });

  it('group-commits concurrent puts into few packs', async () => {
    const s = await openStore();
    const chunks = Array.from({ length: 50 }, () => chunk(1024));
    await Promise.all(chunks.map((c) => s.put(c.id, c.bytes)));
    expect(s.stats().chunks).toBe(50);
    expect(s.stats().packs).toBeLessThanOrEqual(2);
  });

  it('reports CORRUPT_DATA naming the chunk and pack when a stored byte changes, and verify finds it', async () => {
    let s = await openStore();
    const a = chunk(4096);
    const b = chunk(4096);
    await s.putMany([a, b]);
    const packName = (await readdir(join(root, 'packs'))).find((n) => n.endsWith('.pack')) as string;
    const fh = await open(join(root, 'packs', packName), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 4096 + 100); // inside b
    byte[0] = (byte[0] as number) ^ 0xff;
    await fh.write(byte, 0, 1, 4096 + 100);
    await fh.close();

    const err = await s.get(b.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CORRUPT_DATA' });
    expect((err as Error).message).toContain(b.id);
    expect((err as Error).message).toContain(packName);
    expect((await s.get(a.id)).equals(a.bytes)).toBe(true);

    const report = await s.verify({ dropBad: true });
    expect(report.chunksChecked).toBe(2);
    expect(report.bad.map((x) => x.id)).toEqual([b.id]);
    // Repair: the dropped chunk can be put again, and the fresh copy wins after a reopen.
    expect(await s.has([b.id])).toEqual(new Set());
    await s.put(b.id, b.bytes);
    await s.close();
    s = await openStore();
    expect((await s.get(b.id)).equals(b.bytes)).toBe(true);
    expect((await s.verify()).bad).toEqual([]);
  });
});
