import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChunkId } from '../../content/index.js';
import { FolderDpStore } from './folder-dp-store.js';
import {
  flipByte,
  type BuiltVersion,
  buildVersion,
  chunksOf,
  digests,
  randomFile,
  treeDigests,
} from './package-builder.test-helpers.js';

const A = 'PS100001';
const chunk = 4096;

let base: string;
let root: string;
let store: FolderDpStore;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-plan-'));
  root = join(base, 'dp');
  store = new FolderDpStore({ root, create: true });
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const planDir = (pkg: string): string => join(root, '.sitecast/planned', pkg);
const planTree = (pkg: string): string => join(planDir(pkg), 'tree');

async function prepare(s: FolderDpStore, built: BuiltVersion): Promise<void> {
  await s.prepare(built.manifest.packageId, built.version, built.manifestId, built.manifestBytes);
}

async function activate(s: FolderDpStore, built: BuiltVersion): Promise<void> {
  await s.activate(built.manifest.packageId, built.version, built.manifestId, built.manifestBytes, {
    seedFromExisting: true,
  });
}

/** Batch files written for the package under `.sitecast/incoming/<pkg>` (none when the folder is absent). */
async function batchFiles(pkg: string): Promise<string[]> {
  const dir = join(root, '.sitecast/incoming', pkg);
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((n) => n.endsWith('.chunks'));
}

async function readAt(path: string, offset: number, size: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Where chunk `id` first sits in `built`: file path and offset. */
function firstPlace(built: BuiltVersion, id: ChunkId): { path: string; offset: number } {
  for (const f of built.manifest.files) {
    let offset = 0;
    for (const c of f.chunks) {
      if (c.id === id) return { path: f.path, offset };
      offset += c.size;
    }
  }
  throw new Error(`chunk ${id} is not in version ${built.version}`);
}

const sorted = (ids: readonly ChunkId[]): ChunkId[] => [...ids].sort();

const wim = randomFile(40 * chunk);
const v1 = buildVersion(A, 1, [
  { path: 'sources/install.wim', bytes: wim },
  { path: 'boot/bootmgr.exe', bytes: randomFile(3 * chunk + 17), mode: 0o755 },
  { path: 'readme.txt', bytes: Buffer.from('hello planned DP\n') },
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
  { path: 'readme.txt', bytes: Buffer.from('hello planned DP, version 2\n') },
]);
const changedIds = v2.ids.filter((id) => !v1.chunks.has(id));
const totalBytes = (built: BuiltVersion, ids: readonly ChunkId[] = built.ids): number =>
  ids.reduce((n, id) => n + built.chunks.get(id)!.length, 0);

describe('FolderDpStore: planned versions (prepare)', () => {
  it('writes announced chunks straight into the plan tree, no batch file, and activates from it', async () => {
    await prepare(store, v1);
    expect(existsSync(join(planDir(A), `1.${v1.manifestId}.manifest`))).toBe(true);
    expect(await store.pendingChunks(A)).toEqual({ chunks: 0, bytes: 0 });

    const half = v1.ids.slice(0, 20);
    await store.putChunks(A, chunksOf(v1, half));
    expect(await store.pendingChunks(A)).toEqual({ chunks: half.length, bytes: totalBytes(v1, half) });
    expect(await store.receivedChunkIds(A)).toEqual(new Set(half));
    await store.putChunks(A, chunksOf(v1, v1.ids.slice(20)));
    expect(await store.pendingChunks(A)).toEqual({ chunks: v1.ids.length, bytes: totalBytes(v1) });
    // Sending a placed chunk again counts nothing twice.
    await store.putChunks(A, chunksOf(v1, half.slice(0, 3)));
    expect(await store.pendingChunks(A)).toEqual({ chunks: v1.ids.length, bytes: totalBytes(v1) });
    expect(await batchFiles(A)).toEqual([]);
    expect(await store.missingChunks(A, v1.ids)).toEqual([]);

    await activate(store, v1);
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(await store.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
    expect(existsSync(planDir(A))).toBe(false);
    expect(await store.pendingChunks(A)).toEqual({ chunks: 0, bytes: 0 });
    expect(await store.verify(A)).toMatchObject({ badChunks: [], badFiles: [] });
  });

  it('resumes after a restart without re-sending what landed', async () => {
    await prepare(store, v1);
    const [sent, rest] = [v1.ids.filter((_, i) => i % 2 === 0), v1.ids.filter((_, i) => i % 2 === 1)];
    await store.putChunks(A, chunksOf(v1, sent));

    const restarted = new FolderDpStore({ root });
    expect(sorted(await restarted.missingChunks(A, v1.ids))).toEqual(sorted(rest));
    expect(await restarted.pendingChunks(A)).toEqual({ chunks: sent.length, bytes: totalBytes(v1, sent) });
    await restarted.putChunks(A, chunksOf(v1, rest));
    expect(await batchFiles(A)).toEqual([]);
    await activate(restarted, v1);
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(existsSync(planDir(A))).toBe(false);
  });

  it('asks again for a landed chunk corrupted on disk while the DP was stopped', async () => {
    await prepare(store, v1);
    await store.putChunks(A, chunksOf(v1));
    const rotten = v1.manifest.files[0]!.chunks[7]!.id;
    const { path, offset } = firstPlace(v1, rotten);
    await flipByte(join(planTree(A), path), offset + 100);

    const restarted = new FolderDpStore({ root });
    expect(await restarted.missingChunks(A, v1.ids)).toEqual([rotten]);
    expect((await restarted.pendingChunks(A)).chunks).toBe(v1.ids.length - 1);
    await restarted.putChunks(A, chunksOf(v1, [rotten]));
    await activate(restarted, v1);
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(await restarted.verify(A)).toMatchObject({ badChunks: [], badFiles: [] });
  });

  it('writes a repeated chunk to all its places with one put; keeps chunks the plan does not name in a batch file', async () => {
    const x = randomFile(chunk);
    const tail = Buffer.from('tail bytes');
    const built = buildVersion(A, 1, [
      { path: 'a.bin', bytes: Buffer.concat([x, randomFile(chunk), x, tail]) },
      { path: 'dir/b.bin', bytes: Buffer.concat([randomFile(chunk), x]) },
    ]);
    const xId = built.manifest.files[0]!.chunks[0]!.id;
    expect(built.ids).toHaveLength(4);
    await prepare(store, built);
    await store.putChunks(A, chunksOf(built, [xId]));
    expect((await readAt(join(planTree(A), 'a.bin'), 0, chunk)).equals(x)).toBe(true);
    expect((await readAt(join(planTree(A), 'a.bin'), 2 * chunk, chunk)).equals(x)).toBe(true);
    expect((await readAt(join(planTree(A), 'dir/b.bin'), chunk, chunk)).equals(x)).toBe(true);
    expect(await store.pendingChunks(A)).toEqual({ chunks: 1, bytes: chunk });
    // A restart finds it at every place; with one place rotten, it is asked for again.
    expect(await new FolderDpStore({ root }).missingChunks(A, [xId])).toEqual([]);
    await flipByte(join(planTree(A), 'a.bin'), 2 * chunk + 5);
    const restarted = new FolderDpStore({ root });
    expect(await restarted.missingChunks(A, [xId])).toEqual([xId]);
    await restarted.putChunks(A, chunksOf(built, [xId]));
    expect((await readAt(join(planTree(A), 'a.bin'), 2 * chunk, chunk)).equals(x)).toBe(true);

    // A chunk a later version needs, sent while the plan is for this one: kept in a batch file.
    const later = buildVersion(A, 2, [
      ...[...built.files].map(([path, bytes]) => ({ path, bytes })),
      { path: 'extra.bin', bytes: randomFile(chunk) },
    ]);
    const extra = later.ids.filter((id) => !built.chunks.has(id));
    expect(extra).toHaveLength(1);
    await restarted.putChunks(A, chunksOf(later, extra));
    expect(await batchFiles(A)).toHaveLength(1);
    expect(await restarted.missingChunks(A, extra)).toEqual([]);
    expect(await restarted.pendingChunks(A)).toEqual({ chunks: 2, bytes: 2 * chunk });

    await restarted.putChunks(A, chunksOf(built, await restarted.missingChunks(A, built.ids)));
    await activate(restarted, built);
    expect(await treeDigests(join(root, A))).toEqual(digests(built.files));
    // The batch chunk outlived v1's activation and builds v2 without anything sent.
    expect(await restarted.missingChunks(A, later.ids)).toEqual([]);
    await activate(restarted, later);
    expect(await treeDigests(join(root, A))).toEqual(digests(later.files));
    expect(await batchFiles(A)).toEqual([]);
  });

  it('a second version with a plan gets only its changed chunks and seeds the rest from the old tree', async () => {
    await prepare(store, v1);
    await store.putChunks(A, chunksOf(v1));
    await activate(store, v1);

    await prepare(store, v2);
    const missing = await store.missingChunks(A, v2.ids);
    expect(sorted(missing)).toEqual(sorted(changedIds));
    await store.putChunks(A, chunksOf(v2, missing));
    expect(await batchFiles(A)).toEqual([]);
    expect(await store.pendingChunks(A)).toEqual({
      chunks: changedIds.length,
      bytes: totalBytes(v2, changedIds),
    });
    await activate(store, v2);
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
    expect(await store.packageState(A)).toEqual({ version: 2, manifestId: v2.manifestId });
    expect(existsSync(planDir(A))).toBe(false);
    expect(await readdir(join(root, '.sitecast/versions', A))).toHaveLength(1);
  });

  it('carries landed chunks over to a plan for another manifest', async () => {
    await prepare(store, v1);
    const landed = v1.ids.slice(0, 30);
    await store.putChunks(A, chunksOf(v1, landed));

    await prepare(store, v2);
    expect((await readdir(planDir(A))).sort()).toEqual([`2.${v2.manifestId}.manifest`, 'tree']);
    const carried = landed.filter((id) => v2.chunks.has(id));
    expect(carried.length).toBeGreaterThan(20);
    const expectMissing = v2.ids.filter((id) => !carried.includes(id));
    expect(sorted(await store.missingChunks(A, v2.ids))).toEqual(sorted(expectMissing));
    expect(await store.pendingChunks(A)).toEqual({ chunks: carried.length, bytes: totalBytes(v2, carried) });

    // The carried chunks really are in the new tree: a restart re-hashes them.
    const restarted = new FolderDpStore({ root });
    expect(sorted(await restarted.missingChunks(A, v2.ids))).toEqual(sorted(expectMissing));
    await restarted.putChunks(A, chunksOf(v2, expectMissing));
    await activate(restarted, v2);
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
  });

  it('activates another manifest from chunks landed in a plan for a different one, sending nothing again', async () => {
    // Same chunks, new mtimes (a metadata-only change): missingChunks counts the plan's chunks as held,
    // so activation of the other manifest must find them there (it once failed with MISSING_CHUNKS forever).
    const v1b = buildVersion(
      A,
      2,
      [...v1.files].map(([path, bytes]) => ({
        path,
        bytes,
        ...(path === 'boot/bootmgr.exe' && { mode: 0o755 }),
        mtime: 1_700_000_000_000,
      })),
    );
    expect(v1b.manifestId).not.toBe(v1.manifestId);
    await prepare(store, v1);
    await store.putChunks(A, chunksOf(v1, v1.ids));
    expect(await store.missingChunks(A, v1b.ids)).toEqual([]);
    await activate(store, v1b);
    expect(await treeDigests(join(root, A))).toEqual(digests(v1b.files));
    expect(await store.verify(A)).toMatchObject({ badChunks: [], badFiles: [] });
  });

  it('chunkReader serves a placed chunk, verified, mid-transfer', async () => {
    await prepare(store, v1);
    const [first, second] = [v1.ids[5]!, v1.ids[6]!];
    await store.putChunks(A, chunksOf(v1, [first, second]));
    const read = await store.chunkReader();
    expect((await read(first))?.equals(v1.chunks.get(first)!)).toBe(true);
    expect(await read(v1.ids[7]!)).toBeNull();
    expect((await store.readChunk(second)).equals(v1.chunks.get(second)!)).toBe(true);
    // Bytes that rotted after landing are not served.
    const { path, offset } = firstPlace(v1, second);
    await flipByte(join(planTree(A), path), offset + 1);
    expect(await (await store.chunkReader())(second)).toBeNull();
  });

  it('recovery deletes a plan whose version is already presented, keeps one for a newer version', async () => {
    await prepare(store, v1);
    await store.putChunks(A, chunksOf(v1));
    await activate(store, v1);
    expect(existsSync(planDir(A))).toBe(false);
    // Killed between the switch and the plan's cleanup: the plan folder is still there.
    await mkdir(join(planTree(A), 'sources'), { recursive: true });
    await writeFile(join(planDir(A), `1.${v1.manifestId}.manifest`), v1.manifestBytes);
    await writeFile(join(planTree(A), 'sources/install.wim'), wim);

    const restarted = new FolderDpStore({ root });
    expect(await restarted.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
    expect(existsSync(planDir(A))).toBe(false);
    expect(await restarted.pendingChunks(A)).toEqual({ chunks: 0, bytes: 0 });

    await prepare(restarted, v2);
    await restarted.putChunks(A, chunksOf(v2, changedIds.slice(0, 1)));
    const again = new FolderDpStore({ root });
    expect(await again.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
    expect(existsSync(join(planDir(A), `2.${v2.manifestId}.manifest`))).toBe(true);
    expect(await again.pendingChunks(A)).toEqual({
      chunks: 1,
      bytes: totalBytes(v2, changedIds.slice(0, 1)),
    });
  });

  it('discardPending and remove delete the plan', async () => {
    await prepare(store, v1);
    await store.putChunks(A, chunksOf(v1, v1.ids.slice(0, 10)));
    await store.discardPending(A);
    expect(existsSync(planDir(A))).toBe(false);
    expect(sorted(await store.missingChunks(A, v1.ids))).toEqual(sorted(v1.ids));
    expect(await store.pendingChunks(A)).toEqual({ chunks: 0, bytes: 0 });

    await prepare(store, v1);
    await store.putChunks(A, chunksOf(v1));
    await activate(store, v1);
    await prepare(store, v2);
    await store.putChunks(A, chunksOf(v2, changedIds));
    expect(existsSync(planDir(A))).toBe(true);
    await store.remove(A);
    expect(existsSync(planDir(A))).toBe(false);
    expect(existsSync(join(root, A))).toBe(false);
    expect(sorted(await store.missingChunks(A, changedIds))).toEqual(sorted(changedIds));
    // Nothing comes back after a restart either.
    const restarted = new FolderDpStore({ root });
    expect(await restarted.pendingChunks(A)).toEqual({ chunks: 0, bytes: 0 });
    expect(await readdir(join(root, '.sitecast/planned'))).toEqual([]);
  });
});
