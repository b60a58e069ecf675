import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlignedBufferPool, DIRECT_ALIGN } from './direct-io.js';
import { sha256Hex } from './manifest.js';
import { PackStore } from './pack-store.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sitecast-direct-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pack writes with direct I/O', () => {
  it('stores chunks of odd sizes across many staging buffers byte for byte, also after reopening', async () => {
    // 5000 rounds up to an 8 KiB buffer: most chunks straddle buffers, and the pack ends mid-block.
    const store = await PackStore.open(root, { writeBufferBytes: 5000 });
    const chunks = Array.from({ length: 60 }, (_, i) => {
      const bytes = randomBytes(1 + ((i * 7919) % 30_000));
      return { id: sha256Hex(bytes), bytes };
    });
    const total = chunks.reduce((n, c) => n + c.bytes.length, 0);
    expect(total % DIRECT_ALIGN).not.toBe(0);
    const sink = store.beginIngest();
    for (const c of chunks) await sink.addChunk(c.id, c.bytes);
    await sink.flush();
    await sink.end();
    await store.close();

    const reopened = await PackStore.open(root);
    try {
      expect(reopened.stats()).toMatchObject({ chunks: 60, chunkBytes: total, packBytes: total });
      const packs = (await readdir(join(root, 'packs'))).filter((f) => f.endsWith('.pack'));
      expect(packs).toHaveLength(1);
      expect((await stat(join(root, 'packs', packs[0]!))).size).toBe(total);
      for (const c of chunks) expect((await reopened.get(c.id)).equals(c.bytes)).toBe(true);
      expect((await reopened.verify()).bad).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});

describe('AlignedBufferPool', () => {
  it('hands out buffers of the rounded-up size and reuses given-back ones', () => {
    const pool = new AlignedBufferPool(10_000, 1);
    expect(pool.bytes).toBe(3 * DIRECT_ALIGN);
    const a = pool.take();
    const b = pool.take();
    expect(a.length).toBe(pool.bytes);
    pool.give(a);
    pool.give(b);
    expect(pool.take()).toBe(a);
    expect(pool.take()).not.toBe(b);
  });
});
