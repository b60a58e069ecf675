import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEFTOVER_GRACE_MS } from './durable-file.js';
import { encodeManifest, manifestIdOf } from './manifest.js';
import { FsManifestStore } from './manifest-store.js';
import type { Manifest } from './types.js';

const ID = 'a'.repeat(64);

function manifest(sourceVersion: number): Manifest {
  return {
    format: 1,
    packageId: 'PS100001',
    sourceVersion,
    files: [
      {
        path: 'boot/install.wim',
        size: 10,
        mode: 0o644,
        mtime: 1_700_000_000_000,
        chunks: [{ id: ID, size: 10 }],
      },
    ],
    directories: ['empty'],
  };
}

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sitecast-manifests-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('FsManifestStore', () => {
  it('round-trips a manifest by its content id', async () => {
    const store = await FsManifestStore.open(root);
    const m1 = manifest(1);
    const id = await store.putManifest(m1);
    expect(id).toBe(manifestIdOf(encodeManifest(m1)));
    expect(await store.getManifest(id)).toEqual(m1);
    expect((await store.getManifestBytes(id)).equals(encodeManifest(m1))).toBe(true);
    expect(await store.hasManifest(id)).toBe(true);
    const id2 = await store.putManifest(manifest(2));
    expect(await store.putManifest(m1)).toBe(id); // idempotent
    expect(await store.listManifests()).toEqual([id, id2].sort());
    await store.deleteManifest(id);
    await store.deleteManifest(id); // idempotent
    expect(await store.hasManifest(id)).toBe(false);
    await expect(store.getManifest(id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.listManifests()).toEqual([id2]);
    // Only manifest files, no temp files, are left.
    expect(await readdir(join(root, 'manifests'))).toEqual([id2]);
  });

  it('detects a manifest whose bytes changed on disk, naming the file', async () => {
    const store = await FsManifestStore.open(root);
    const id = await store.putManifest(manifest(1));
    const path = join(root, 'manifests', id);
    const text = (await readFile(path, 'utf8')).replace('"sourceVersion":1', '"sourceVersion":7');
    await writeFile(path, text);
    const err = await store.getManifest(id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CORRUPT_DATA' });
    expect((err as Error).message).toContain(path);
    await expect(store.getManifestBytes(id)).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    // Putting the manifest again repairs it.
    await store.putManifest(manifest(1));
    expect((await store.getManifest(id)).sourceVersion).toBe(1);
  });

  it('rejects ids that are not SHA-256 hex and removes temp files left by a crash', async () => {
    const dir = await mkdirManifests();
    await writeFile(join(dir, `${ID}.tmp-1-0`), 'partial');
    const then = new Date(Date.now() - LEFTOVER_GRACE_MS - 60_000);
    await utimes(join(dir, `${ID}.tmp-1-0`), then, then);
    // A fresh temp file may be another process's put in progress: it stays.
    await writeFile(join(dir, `${ID}.tmp-2-0`), 'in progress');
    const store = await FsManifestStore.open(root);
    expect(await readdir(join(root, 'manifests'))).toEqual([`${ID}.tmp-2-0`]);
    await expect(store.getManifest('../etc/passwd')).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
    await expect(store.deleteManifest('ABC')).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
    await expect(store.putManifest({ ...manifest(1), packageId: 'bad' })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
      details: { field: 'packageId' },
    });
  });
});

async function mkdirManifests(): Promise<string> {
  const store = await FsManifestStore.open(root);
  return store.dir;
}
