import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSitecastError } from '../../kernel/index.js';
import { FolderDpStore } from './folder-dp-store.js';
import { createLocalFolderDp } from './local-folder-adapter.js';
import {
  flipByte,
  type BuiltVersion,
  buildVersion,
  chunksOf,
  defaultMtime,
  randomFile,
  digests,
  treeDigests,
} from './package-builder.test-helpers.js';

const A = 'PS100001';
const B = 'PS100002';
const chunk = 4096;

let base: string;
let root: string;
let store: FolderDpStore;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-dp-'));
  root = join(base, 'dp');
  store = new FolderDpStore({ root, create: true });
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function install(s: FolderDpStore, built: BuiltVersion, seed = true): Promise<void> {
  const pkg = built.manifest.packageId;
  await s.putChunks(pkg, chunksOf(built, await s.missingChunks(pkg, built.ids)));
  await s.activate(pkg, built.version, built.manifestId, built.manifestBytes, { seedFromExisting: seed });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

/** Overwrites one byte of a presented file (trees are plain files an admin or a disk can damage). */

const wim = randomFile(40 * chunk);
const v1 = buildVersion(A, 1, [
  { path: 'sources/install.wim', bytes: wim },
  {
    path: 'boot/bootmgr.exe',
    bytes: randomFile(3 * chunk + 17),
    mode: 0o755,
    mtime: defaultMtime - 86_400_000,
  },
  { path: 'readme.txt', bytes: Buffer.from('hello DP\n') },
  { path: 'empty.dat', bytes: Buffer.alloc(0) },
]);
function changed(bytes: Buffer, chunkIndexes: readonly number[]): Buffer {
  const copy = Buffer.from(bytes);
  for (const i of chunkIndexes) copy.fill(i + 1, i * chunk, i * chunk + 10);
  return copy;
}
const v2 = buildVersion(A, 2, [
  { path: 'sources/install.wim', bytes: changed(wim, [3, 17]) },
  { path: 'boot/bootmgr.exe', bytes: v1.files.get('boot/bootmgr.exe')!, mode: 0o755 },
  { path: 'readme.txt', bytes: Buffer.from('hello DP, version 2\n') },
]);
const changedIds = v2.ids.filter((id) => !v1.chunks.has(id));

describe('FolderDpStore: distributing versions', () => {
  it('installs a first version from nothing: files byte-identical, modes and mtimes set', async () => {
    const dp = createLocalFolderDp({ root, create: true });
    expect(dp.kind).toBe('local');
    expect(await dp.missingChunks(A, v1.ids)).toEqual(v1.ids);
    expect(await dp.packageState(A)).toBeNull();
    await dp.putChunks(A, chunksOf(v1));
    await dp.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: true });

    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    const exe = await stat(join(root, A, 'boot/bootmgr.exe'));
    expect(exe.mode & 0o777).toBe(0o755);
    // utimes(2) goes through a double of seconds: exact to the millisecond once rounded.
    expect(Math.round(exe.mtimeMs)).toBe(defaultMtime - 86_400_000);
    expect(Math.round((await stat(join(root, A, 'sources/install.wim'))).mtimeMs)).toBe(defaultMtime);
    expect((await stat(join(root, A, 'readme.txt'))).mode & 0o777).toBe(0o644);
    expect(await dp.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
    // What the DP holds now is the tree: nothing pending, nothing to send again.
    expect(await dp.missingChunks(A, v1.ids)).toEqual([]);
    expect(existsSync(join(root, '.sitecast/incoming', A))).toBe(false);
    expect((await readdir(root)).sort()).toEqual(['.sitecast', A]);
  });

  it('creates empty directories the manifest lists', async () => {
    const built = buildVersion(A, 1, [{ path: 'a.txt', bytes: Buffer.from('a') }], {
      directories: ['drivers/x64', 'logs'],
    });
    await install(store, built);
    expect((await stat(join(root, A, 'drivers/x64'))).isDirectory()).toBe(true);
    expect(await readdir(join(root, A, 'logs'))).toEqual([]);
  });

  it('asks only for changed chunks of a second version and seeds the rest from the old tree', async () => {
    await install(store, v1);
    expect(changedIds.length).toBe(3);
    const missing = await store.missingChunks(A, v2.ids);
    expect(missing.sort()).toEqual([...changedIds].sort());
    await store.putChunks(A, chunksOf(v2, missing));
    await store.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true });

    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
    expect(await store.packageState(A)).toEqual({ version: 2, manifestId: v2.manifestId });
    // The old tree, its manifest record and the consumed chunks are gone.
    expect(await readdir(join(root, '.sitecast/versions', A))).toHaveLength(1);
    expect((await readdir(join(root, '.sitecast/manifests'))).filter((n) => n.startsWith(A))).toEqual([
      `${A}.2.${v2.manifestId}`,
    ]);
    expect(existsSync(join(root, '.sitecast/incoming', A))).toBe(false);
    // Activating the current version again is a no-op.
    await store.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true });
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
  });

  it('does not ask for a chunk another package on the DP already presents', async () => {
    await install(store, v1);
    const shared = wim.subarray(0, 10 * chunk);
    const other = buildVersion(B, 1, [
      { path: 'part.wim', bytes: Buffer.concat([shared, Buffer.from('tail of B')]) },
    ]);
    const missing = await store.missingChunks(B, other.ids);
    expect(missing).toEqual(other.ids.filter((id) => !v1.chunks.has(id)));
    expect(missing).toHaveLength(1);
    await store.putChunks(B, chunksOf(other, missing));
    await store.activate(B, 1, other.manifestId, other.manifestBytes, { seedFromExisting: true });
    expect(await treeDigests(join(root, B))).toEqual(digests(other.files));
  });

  it('reports a seed range corrupted on disk as missing instead of serving it', async () => {
    await install(store, v1);
    // Chunk 5 of install.wim is reused by v2; damage it in the presented tree.
    await flipByte(join(root, A, 'sources/install.wim'), 5 * chunk + 100);
    const rotten = v1.manifest.files.find((f) => f.path === 'sources/install.wim')!.chunks[5]!.id;
    await store.putChunks(A, chunksOf(v2, changedIds));
    const error = await rejection(
      store.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true }),
    );
    expect(isSitecastError(error, 'MISSING_CHUNKS')).toBe(true);
    expect((error as { details: { missing: string[] } }).details.missing).toEqual([rotten]);
    expect(await store.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });

    await store.putChunks(A, chunksOf(v2, [rotten]));
    await store.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true });
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
    expect((await store.verify(A)).badChunks).toEqual([]);
  });

  it('refuses to activate with a chunk missing, keeps serving the old version, then succeeds once it arrives', async () => {
    await install(store, v1);
    const [held, ...sent] = changedIds;
    await store.putChunks(A, chunksOf(v2, sent));
    const error = await rejection(
      store.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true }),
    );
    expect(isSitecastError(error, 'MISSING_CHUNKS')).toBe(true);
    expect((error as { details: { missing: string[] } }).details.missing).toEqual([held]);
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(await readdir(join(root, '.sitecast/staging'))).toEqual([]);
    // The chunks already sent stay: the retry sends only the one that was lacking.
    expect(await store.missingChunks(A, v2.ids)).toEqual([held]);
    await store.putChunks(A, chunksOf(v2, [held!]));
    await store.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true });
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
  });

  it('rejects a chunk whose bytes do not match its id and stores nothing of the batch', async () => {
    const [first, second] = chunksOf(v1, v1.ids.slice(0, 2));
    const forged = { id: second!.id, bytes: Buffer.from('not the right bytes') };
    const error = await rejection(store.putChunks(A, [first!, forged]));
    expect(isSitecastError(error, 'HASH_MISMATCH')).toBe(true);
    expect((error as Error).message).toContain(second!.id);
    expect(await store.missingChunks(A, [first!.id, second!.id])).toEqual([first!.id, second!.id]);
  });

  it('rejects manifests that do not hash to their id or name another package', async () => {
    await store.putChunks(A, chunksOf(v1));
    const tampered = Buffer.from(v1.manifestBytes);
    tampered[tampered.length - 3] = 0x20;
    expect(
      await rejection(store.activate(A, 1, v1.manifestId, tampered, { seedFromExisting: true })),
    ).toMatchObject({ code: 'HASH_MISMATCH' });
    expect(
      await rejection(store.activate(B, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: true })),
    ).toMatchObject({ code: 'INVALID_PARAMETER', details: { field: 'packageId' } });
    expect(await rejection(store.missingChunks('../../etc', v1.ids))).toMatchObject({
      code: 'INVALID_PARAMETER',
    });
    expect(await rejection(store.missingChunks(A, ['../x']))).toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await store.packageState(A)).toBeNull();
  });

  it('verify re-hashes the presented version and reports a flipped byte, a truncated and a missing file', async () => {
    await install(store, v1);
    const clean = await store.verify(A);
    expect(clean).toMatchObject({ packageId: A, version: 1, filesChecked: 4, badChunks: [], badFiles: [] });
    expect(clean.bytesChecked).toBe([...v1.files.values()].reduce((n, b) => n + b.length, 0));

    const wimChunks = v1.manifest.files.find((f) => f.path === 'sources/install.wim')!.chunks;
    await flipByte(join(root, A, 'sources/install.wim'), 7 * chunk + 5);
    await truncate(join(root, A, 'boot/bootmgr.exe'), 2 * chunk);
    await unlink(join(root, A, 'readme.txt'));
    const exeChunks = v1.manifest.files.find((f) => f.path === 'boot/bootmgr.exe')!.chunks;
    const report = await store.verify(A);
    expect([...report.badFiles].sort()).toEqual(['boot/bootmgr.exe', 'readme.txt']);
    expect(report.badChunks).toEqual(
      expect.arrayContaining([
        { id: wimChunks[7]!.id, path: 'sources/install.wim', offset: 7 * chunk },
        { id: exeChunks[2]!.id, path: 'boot/bootmgr.exe', offset: 2 * chunk },
        { id: exeChunks[3]!.id, path: 'boot/bootmgr.exe', offset: 3 * chunk },
      ]),
    );
    expect(report.badChunks).toHaveLength(3);
    // Verify repairs nothing.
    expect(existsSync(join(root, A, 'readme.txt'))).toBe(false);
    expect(await rejection(store.verify(B))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('remove unpresents and deletes one package, leaves another that shares chunks intact', async () => {
    await install(store, v1);
    const other = buildVersion(B, 1, [{ path: 'copy.wim', bytes: wim }]);
    await install(store, other);
    expect(await store.missingChunks(B, other.ids)).toEqual([]);
    await store.putChunks(A, chunksOf(v2, changedIds)); // pending chunks go too

    await store.remove(A);
    expect(existsSync(join(root, A))).toBe(false);
    expect(await store.packageState(A)).toBeNull();
    expect(existsSync(join(root, '.sitecast/versions', A))).toBe(false);
    expect(existsSync(join(root, '.sitecast/incoming', A))).toBe(false);
    expect((await readdir(join(root, '.sitecast/manifests'))).some((n) => n.startsWith(A))).toBe(false);
    expect(await treeDigests(join(root, B))).toEqual(digests(other.files));
    expect((await store.verify(B)).badChunks).toEqual([]);
    // A's own chunks are really gone; the shared ones are still there through B.
    const onlyA = v1.ids.filter((id) => !other.chunks.has(id));
    expect((await store.missingChunks(A, v1.ids)).sort()).toEqual([...onlyA].sort());
    await store.remove(A);
    await store.remove(B);
    expect((await readdir(root)).sort()).toEqual(['.sitecast']);
  });

  it('redistribute (no seeding) rebuilds from sent chunks only and repairs a damaged tree', async () => {
    await install(store, v1);
    await flipByte(join(root, A, 'sources/install.wim'), 3);
    // Same version, seeding allowed: a no-op, the damage stays.
    await store.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: true });
    expect((await store.verify(A)).badChunks).toHaveLength(1);

    const error = await rejection(
      store.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: false }),
    );
    expect((error as { details: { missing: string[] } }).details.missing.sort()).toEqual([...v1.ids].sort());
    await store.putChunks(A, chunksOf(v1));
    await store.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: false });
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(await store.verify(A)).toMatchObject({ badChunks: [], badFiles: [] });
    expect(await readdir(join(root, '.sitecast/versions', A))).toHaveLength(1);
  });

  it('discardPending drops received chunks; a cancelled activation leaves the old version served', async () => {
    await install(store, v1);
    await store.putChunks(A, chunksOf(v2, changedIds));
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(
      store.activate(A, 2, v2.manifestId, v2.manifestBytes, {
        seedFromExisting: true,
        signal: controller.signal,
      }),
    );
    expect(error).toMatchObject({ code: 'CANCELLED' });
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(await readdir(join(root, '.sitecast/staging'))).toEqual([]);
    expect(await store.missingChunks(A, v2.ids)).toEqual([]);
    await store.discardPending(A);
    expect((await store.missingChunks(A, v2.ids)).sort()).toEqual([...changedIds].sort());
    expect(await store.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
  });

  it('serves chunks to peers from its trees, verified', async () => {
    await install(store, v1);
    const id = v1.ids[4]!;
    expect((await store.readChunk(id)).equals(v1.chunks.get(id)!)).toBe(true);
    expect(await rejection(store.readChunk('0'.repeat(64)))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('serialises operations on one package and runs different packages in parallel', async () => {
    const other = buildVersion(B, 1, [{ path: 'b.bin', bytes: randomFile(20 * chunk) }]);
    await store.putChunks(A, chunksOf(v1));
    await store.putChunks(A, chunksOf(v2, changedIds));
    await store.putChunks(B, chunksOf(other));
    await Promise.all([
      store.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: true }),
      store.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true }),
      store.activate(B, 1, other.manifestId, other.manifestBytes, { seedFromExisting: true }),
    ]);
    expect(await store.packageState(A)).toEqual({ version: 2, manifestId: v2.manifestId });
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
    expect(await treeDigests(join(root, B))).toEqual(digests(other.files));
  });
});
