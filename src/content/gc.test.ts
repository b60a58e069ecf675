import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectGarbage } from './gc.js';
import type { GcManifestSource } from './gc.js';
import { sha256Hex } from './manifest.js';
import { FsManifestStore } from './manifest-store.js';
import { PackStore } from './pack-store.js';
import type { Manifest } from './types.js';

interface Chunk {
  readonly id: string;
  readonly bytes: Buffer;
}

function chunk(size: number): Chunk {
  const bytes = randomBytes(size);
  return { id: sha256Hex(bytes), bytes };
}

function manifestOf(version: number, chunks: readonly Chunk[]): Manifest {
  return {
    format: 1,
    packageId: 'PS100001',
    sourceVersion: version,
    files: chunks.map((c, i) => ({
      path: `f${String(i).padStart(3, '0')}.bin`,
      size: c.bytes.length,
      mode: 0o644,
      mtime: 0,
      chunks: [{ id: c.id, size: c.bytes.length }],
    })),
    directories: [],
  };
}

let root: string;
let packs: PackStore;
let manifests: FsManifestStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sitecast-gc-'));
  packs = await PackStore.open(root);
  manifests = await FsManifestStore.open(root);
});

afterEach(async () => {
  await packs.close();
  await rm(root, { recursive: true, force: true });
});

/** One ingest session (one pack) holding `chunks`. */
async function ingest(chunks: readonly Chunk[]): Promise<void> {
  const s = packs.beginIngest();
  for (const c of chunks) if (!s.hasChunk(c.id)) await s.addChunk(c.id, c.bytes);
  await s.flush();
  await s.end();
}

async function present(chunks: readonly Chunk[]): Promise<boolean[]> {
  const have = await packs.has(chunks.map((c) => c.id));
  return chunks.map((c) => have.has(c.id));
}

const KiB = 1024;
const inAnHour = { now: () => Date.now() + 3_700_000, sleep: () => Promise.resolve() };

describe('collectGarbage', () => {
  it('removes exactly the chunks only dead manifests use, and the dead manifests', async () => {
    const shared = chunk(4 * KiB);
    const [b1, b2, c, d] = [chunk(8 * KiB), chunk(8 * KiB), chunk(4 * KiB), chunk(4 * KiB)] as const;
    await ingest([shared, b1, b2]); // pack 1: 20 % live after GC → compacted
    await ingest([c]); // pack 2: all live
    await ingest([d]); // pack 3: all dead → deleted
    const v1 = await manifests.putManifest(manifestOf(1, [shared, b1, b2, d]));
    const v2 = await manifests.putManifest(manifestOf(2, [shared, c]));

    const result = await collectGarbage(packs, manifests, new Set([v2]), { graceMs: 0 });
    expect(result).toMatchObject({
      chunksRemoved: 3,
      chunksKept: 2,
      manifestsRemoved: 1,
      packsDeleted: 1,
      packsCompacted: 1,
      packsWritten: 1,
      bytesFreed: 20 * KiB,
    });
    expect(await present([shared, c, b1, b2, d])).toEqual([true, true, false, false, false]);
    expect(await manifests.listManifests()).toEqual([v2]);
    expect(await manifests.hasManifest(v1)).toBe(false);
    expect(packs.stats()).toMatchObject({ chunks: 2, packs: 2, packBytes: 8 * KiB, reclaimableBytes: 0 });

    await packs.close();
    packs = await PackStore.open(root);
    expect((await packs.get(shared.id)).equals(shared.bytes)).toBe(true);
    expect((await packs.get(c.id)).equals(c.bytes)).toBe(true);
    await expect(packs.get(b1.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await packs.verify()).bad).toEqual([]);
  });

  it('leaves a mostly live pack in place and counts its dead bytes as reclaimable', async () => {
    const [a, b, dead] = [chunk(8 * KiB), chunk(8 * KiB), chunk(4 * KiB)] as const;
    await ingest([a, b, dead]);
    const v = await manifests.putManifest(manifestOf(1, [a, b]));
    const result = await collectGarbage(packs, manifests, new Set([v]), { graceMs: 0 });
    expect(result).toMatchObject({ chunksRemoved: 0, packsCompacted: 0, bytesFreed: 0 });
    expect(packs.stats().reclaimableBytes).toBe(4 * KiB);
    // A lower threshold-free run (compactBelow 1) rewrites it.
    const again = await collectGarbage(packs, manifests, new Set([v]), { graceMs: 0, compactBelow: 1 });
    expect(again).toMatchObject({ chunksRemoved: 1, packsCompacted: 1, bytesFreed: 4 * KiB });
    expect(await present([a, b, dead])).toEqual([true, true, false]);
  });

  it('merges many small packs (one per received put) into one', async () => {
    const chunks = Array.from({ length: 5 }, () => chunk(KiB));
    for (const c of chunks) await packs.put(c.id, c.bytes);
    const v = await manifests.putManifest(manifestOf(1, chunks));
    expect(packs.stats().packs).toBe(5);
    const result = await collectGarbage(packs, manifests, new Set([v]), { graceMs: 0 });
    expect(result).toMatchObject({ packsCompacted: 5, packsWritten: 1, chunksRemoved: 0, chunksKept: 5 });
    expect(packs.stats().packs).toBe(1);
    for (const c of chunks) expect((await packs.get(c.id)).equals(c.bytes)).toBe(true);
  });

  it('keeps chunks pinned by an open ingest session until it ends and a manifest protects them', async () => {
    const [x, y] = [chunk(4 * KiB), chunk(4 * KiB)] as const;
    await ingest([x]);
    await manifests.putManifest(manifestOf(1, [x]));
    const session = packs.beginIngest();
    expect(session.hasChunk(x.id)).toBe(true); // pins x
    await session.addChunk(y.id, y.bytes);
    await session.flush(); // y durable, no manifest yet

    const during = await collectGarbage(packs, manifests, new Set(), { graceMs: 0 });
    expect(during).toMatchObject({ chunksRemoved: 0, manifestsRemoved: 1 });
    expect(await present([x, y])).toEqual([true, true]);

    const v2 = await manifests.putManifest(manifestOf(2, [x, y]));
    await session.end();
    await collectGarbage(packs, manifests, new Set([v2]), { graceMs: 0 });
    expect(await present([x, y])).toEqual([true, true]);

    const after = await collectGarbage(packs, manifests, new Set(), { graceMs: 0 });
    expect(after).toMatchObject({ chunksRemoved: 2, manifestsRemoved: 1 });
    expect(await present([x, y])).toEqual([false, false]);
    expect(await readdir(join(root, 'packs'))).toEqual([]);
  });

  it('loses no live chunk when a crash stops compaction before the old pack is deleted', async () => {
    const live = [chunk(4 * KiB), chunk(4 * KiB)];
    const dead = [chunk(8 * KiB), chunk(8 * KiB)];
    await ingest([...live, ...dead]);
    const v = await manifests.putManifest(manifestOf(1, live));
    const backup = join(root, 'backup');
    await cp(join(root, 'packs'), backup, { recursive: true });
    expect((await collectGarbage(packs, manifests, new Set([v]), { graceMs: 0 })).packsCompacted).toBe(1);
    await packs.close();
    // The state a crash between "new pack sealed" and "old pack deleted" leaves: both packs on disk.
    await cp(backup, join(root, 'packs'), { recursive: true });
    packs = await PackStore.open(root);
    for (const c of live) expect((await packs.get(c.id)).equals(c.bytes)).toBe(true);
    expect(packs.stats().packs).toBe(2);
    const cleanup = await collectGarbage(packs, manifests, new Set([v]), { graceMs: 0 });
    expect(cleanup).toMatchObject({ packsDeleted: 1, chunksRemoved: 2 });
    expect(packs.stats()).toMatchObject({ packs: 1, chunks: 2, reclaimableBytes: 0 });
    for (const c of live) expect((await packs.get(c.id)).equals(c.bytes)).toBe(true);
  });

  it('aborts without deleting anything when a live manifest is missing', async () => {
    const a = chunk(KiB);
    await ingest([a]);
    const dead = await manifests.putManifest(manifestOf(1, [a]));
    const missing = 'f'.repeat(64);
    const err = await collectGarbage(packs, manifests, new Set([missing]), { graceMs: 0 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toContain(missing);
    expect(await manifests.hasManifest(dead)).toBe(true);
    expect(await present([a])).toEqual([true]);
  });

  it('keeps manifests and packs younger than the grace period', async () => {
    const [a, received] = [chunk(KiB), chunk(KiB)] as const;
    await ingest([a]);
    const young = await manifests.putManifest(manifestOf(1, [a]));
    await packs.put(received.id, received.bytes); // a chunk whose manifest has not arrived yet
    const result = await collectGarbage(packs, manifests, new Set(), { graceMs: 60_000 });
    expect(result).toMatchObject({ manifestsRemoved: 0, chunksRemoved: 0, manifestsKept: 1 });
    expect(await manifests.hasManifest(young)).toBe(true);
    expect(await present([a, received])).toEqual([true, true]);
    // Once the grace period is over both go.
    const later = await collectGarbage(packs, manifests, new Set(), { graceMs: 60_000, clock: inAnHour });
    expect(later).toMatchObject({ manifestsRemoved: 1, chunksRemoved: 2 });
    expect(await present([a, received])).toEqual([false, false]);
  });

  it('marks a manifest put while GC runs, even when its session already ended', async () => {
    const [old, fresh] = [chunk(KiB), chunk(KiB)] as const;
    await ingest([old]);
    await ingest([fresh]);
    await manifests.putManifest(manifestOf(1, [old]));
    let freshId = '';
    // Puts the new version in the middle of the mark phase.
    const racing: GcManifestSource = {
      listManifests: () => manifests.listManifests(),
      hasManifest: (id) => manifests.hasManifest(id),
      getManifestBytes: (id) => manifests.getManifestBytes(id),
      deleteManifest: async (id) => {
        freshId = await manifests.putManifest(manifestOf(2, [fresh]));
        return manifests.deleteManifest(id);
      },
      getManifest: (id) => manifests.getManifest(id),
      putManifest: (m) => manifests.putManifest(m),
      onPut: (l) => manifests.onPut(l),
      manifestTime: (id) => manifests.manifestTime(id),
    };
    const result = await collectGarbage(packs, racing, new Set(), { graceMs: 0 });
    expect(result.chunksRemoved).toBe(1);
    expect(await present([old, fresh])).toEqual([false, true]);
    expect(await manifests.listManifests()).toEqual([freshId]);
  });

  it('runs safely alongside ingest sessions and reads', async () => {
    const base = Array.from({ length: 20 }, () => chunk(8 * KiB));
    await ingest(base);
    const v1 = await manifests.putManifest(manifestOf(1, base.slice(0, 5)));
    const incoming = Array.from({ length: 20 }, () => chunk(8 * KiB));
    const session = packs.beginIngest();
    const reuse = base.slice(15); // dead in v1's world, but the session finds them
    const snapshot = (async () => {
      for (const c of [...reuse, ...incoming])
        if (!session.hasChunk(c.id)) await session.addChunk(c.id, c.bytes);
      await session.flush();
      const v2 = await manifests.putManifest(manifestOf(2, [...reuse, ...incoming]));
      await session.end();
      return v2;
    })();
    const [gc, v2] = await Promise.all([
      collectGarbage(packs, manifests, new Set([v1]), { graceMs: 0 }),
      snapshot,
      Promise.all(base.slice(0, 5).map((c) => packs.get(c.id))),
    ]);
    expect(gc.manifestsRemoved).toBe(0);
    for (const c of [...base.slice(0, 5), ...reuse, ...incoming]) {
      expect((await packs.get(c.id)).equals(c.bytes)).toBe(true);
    }
    await collectGarbage(packs, manifests, new Set([v1, v2]), { graceMs: 0, compactBelow: 0.9 });
    expect(packs.stats().chunks).toBe(30);
  });
});
