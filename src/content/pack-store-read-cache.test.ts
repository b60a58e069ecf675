/**
 * PackStore's cache of recently read chunks (`get(id, { cache: true })`): it only ever holds bytes that were
 * verified when read, hands every caller its own copy, drops the least recently used past its byte budget,
 * and does not outlive a chunk the store no longer holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PackStore } from './pack-store.js';

const KiB = 1024;
let dir: string;
let store: PackStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sitecast-read-cache-'));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function chunk(size: number): { id: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/** Flips one byte of `bytes` where they sit in a pack file, behind the store's back. */
async function corruptOnDisk(bytes: Buffer): Promise<void> {
  const packs = join(dir, 'packs');
  for (const name of (await readdir(packs)).filter((n) => n.endsWith('.pack'))) {
    const at = (await readFile(join(packs, name))).indexOf(bytes);
    if (at < 0) continue;
    const handle = await open(join(packs, name), 'r+');
    try {
      await handle.write(Buffer.from([bytes[100]! ^ 0xff]), 0, 1, at + 100);
    } finally {
      await handle.close();
    }
    return;
  }
  throw new Error('chunk not found in any pack');
}

describe('PackStore read cache', () => {
  it('serves verified bytes read before, one shared buffer for every reader; never caches a read that failed', async () => {
    store = await PackStore.open(dir);
    const [a, b] = [chunk(64 * KiB), chunk(64 * KiB)];
    await store.putMany([a, b]);

    const first = await store.get(a.id, { cache: true });
    expect(first.equals(a.bytes)).toBe(true);
    await corruptOnDisk(a.bytes);
    await expect(store.get(a.id)).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    const [x, y] = await Promise.all([store.get(a.id, { cache: true }), store.get(a.id, { cache: true })]);
    expect(x.equals(a.bytes) && y.equals(a.bytes)).toBe(true);
    // Shared, not copied: a copy per reader (per DP) was a GC storm on the site.
    expect(x).toBe(y);
    expect(x).toBe(first);

    await corruptOnDisk(b.bytes);
    await expect(store.get(b.id, { cache: true })).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    await expect(store.get(b.id, { cache: true })).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
  });

  it('drops the least recently used chunks past its byte budget, and serves no chunk the store dropped', async () => {
    store = await PackStore.open(dir, { readCacheBytes: 200 * KiB });
    const chunks = [chunk(64 * KiB), chunk(64 * KiB), chunk(64 * KiB), chunk(64 * KiB)];
    await store.putMany(chunks);
    const [c0, c1, c2, c3] = chunks as [
      (typeof chunks)[0],
      (typeof chunks)[0],
      (typeof chunks)[0],
      (typeof chunks)[0],
    ];
    for (const c of [c0, c1, c2]) await store.get(c.id, { cache: true });
    await store.get(c0.id, { cache: true }); // c0 is now the most recent, c1 the least
    await store.get(c3.id, { cache: true }); // 4 × 64 KiB > 200 KiB: c1 goes
    await corruptOnDisk(c0.bytes);
    await corruptOnDisk(c1.bytes);
    expect((await store.get(c0.id, { cache: true })).equals(c0.bytes)).toBe(true);
    await expect(store.get(c1.id, { cache: true })).rejects.toMatchObject({ code: 'CORRUPT_DATA' });

    // GC sweeps c2 out of the store (compacting its pack): cached or not, it is gone.
    await store.sweep((id) => id !== c2.id, { compactBelow: 1 });
    expect(store.hasSync(c2.id)).toBe(false);
    await expect(store.get(c2.id, { cache: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await store.get(c3.id, { cache: true })).equals(c3.bytes)).toBe(true);
  });

  it('reads through when the cache is off', async () => {
    store = await PackStore.open(dir, { readCacheBytes: 0 });
    const a = chunk(32 * KiB);
    await store.putMany([a]);
    expect((await store.get(a.id, { cache: true })).equals(a.bytes)).toBe(true);
    await corruptOnDisk(a.bytes);
    await expect(store.get(a.id, { cache: true })).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    await expect(PackStore.open(join(dir, 'x'), { readCacheBytes: -1 })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
    });
  });
});
