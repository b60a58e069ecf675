/**
 * ENOSPC on a real 4 MiB tmpfs: a full disk gives DISK_FULL and leaves nothing half-visible. Needs root
 * (mount); skipped with a printed reason elsewhere, except on CI where it must run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mountTmpfs, type Tmpfs } from '../../test/support/tmpfs.js';
import { sha256Hex } from './manifest.js';
import { FsManifestStore } from './manifest-store.js';
import { PackStore } from './pack-store.js';

let mountPoint = '';
let mounted = false;
let skipReason = '';
let tmpfs: Tmpfs | null = null;
let store: PackStore | null = null;

function chunk(size: number): { id: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  return { id: sha256Hex(bytes), bytes };
}

beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), 'sitecast-enospc-'));
  const m = mountTmpfs(mountPoint, '4m');
  if ('skipReason' in m) skipReason = m.skipReason;
  else tmpfs = m;
  mounted = tmpfs !== null;
});

afterEach(async () => {
  await store?.close();
  store = null;
  if (mounted) {
    for (const name of await readdir(mountPoint))
      await rm(join(mountPoint, name), { recursive: true, force: true });
  }
});

afterAll(async () => {
  tmpfs?.unmount();
  await rm(mountPoint, { recursive: true, force: true });
});

/** Every file under packs/ is a sealed pack with its index: no temp file, no unindexed pack. */
async function expectNothingHalfWritten(root: string): Promise<void> {
  const names = await readdir(join(root, 'packs'));
  expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  for (const n of names.filter((x) => x.endsWith('.pack')))
    expect(names).toContain(n.replace('.pack', '.idx'));
}

describe('a full disk', () => {
  it('fails an ingest with DISK_FULL, removes its temp pack, and keeps the store usable', async (ctx) => {
    if (!mounted) ctx.skip(skipReason);
    const s = (store = await PackStore.open(mountPoint, { writeBufferBytes: 256 * 1024 }));
    const kept = chunk(64 * 1024);
    await s.put(kept.id, kept.bytes);
    const session = s.beginIngest();
    const err = await (async () => {
      for (let i = 0; i < 96; i++) {
        const c = chunk(64 * 1024); // 6 MiB in all
        await session.addChunk(c.id, c.bytes);
      }
      await session.flush();
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DISK_FULL' });
    expect((err as Error).message).toContain(mountPoint);
    await session.end();
    await expectNothingHalfWritten(mountPoint);
    expect(s.stats()).toMatchObject({ chunks: 1, packs: 1 });
    expect((await s.get(kept.id)).equals(kept.bytes)).toBe(true);
    // The space of the failed pack is back: a new chunk fits.
    const after = chunk(64 * 1024);
    await s.put(after.id, after.bytes);
    expect((await s.get(after.id)).equals(after.bytes)).toBe(true);
  });

  it('fails a put batch that does not fit with DISK_FULL and stores none of it', async (ctx) => {
    if (!mounted) ctx.skip(skipReason);
    const s = (store = await PackStore.open(mountPoint));
    const batch = Array.from({ length: 80 }, () => chunk(64 * 1024)); // 5 MiB
    await expect(s.putMany(batch)).rejects.toMatchObject({ code: 'DISK_FULL' });
    await expectNothingHalfWritten(mountPoint);
    expect((await s.has(batch.map((c) => c.id))).size).toBe(0);
    await s.close();
    store = await PackStore.open(mountPoint);
    expect(store.stats()).toMatchObject({ chunks: 0, packs: 0 });
  });

  it('fails a manifest put with DISK_FULL and leaves no temp file', async (ctx) => {
    if (!mounted) ctx.skip(skipReason);
    const manifests = await FsManifestStore.open(mountPoint);
    await writeFile(join(mountPoint, 'filler'), Buffer.alloc(4 * 1024 * 1024 - 8192)).catch(() => undefined);
    const files = Array.from({ length: 200 }, (_, i) => {
      const c = chunk(16);
      return { path: `dir/file-${i}.bin`, size: 16, mode: 0o644, mtime: 0, chunks: [{ id: c.id, size: 16 }] };
    });
    const err = await manifests
      .putManifest({ format: 1, packageId: 'PS100001', sourceVersion: 1, files, directories: [] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DISK_FULL' });
    expect(await readdir(manifests.dir)).toEqual([]);
  });
});
