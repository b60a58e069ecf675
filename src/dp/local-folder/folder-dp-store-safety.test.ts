import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mountTmpfs, type Tmpfs } from '../../../test/support/tmpfs.js';
import { isSitecastError } from '../../kernel/index.js';
import { FolderDpStore } from './folder-dp-store.js';
import {
  type BuiltVersion,
  buildVersion,
  chunksOf,
  randomFile,
  digests,
  treeDigests,
  sameFiles,
} from './package-builder.test-helpers.js';

const A = 'PS100001';
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

async function install(s: FolderDpStore, built: BuiltVersion): Promise<void> {
  const pkg = built.manifest.packageId;
  await s.putChunks(pkg, chunksOf(built, await s.missingChunks(pkg, built.ids)));
  await s.activate(pkg, built.version, built.manifestId, built.manifestBytes, { seedFromExisting: true });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('FolderDpStore: what clients read', () => {
  it('never shows a reader a mix of versions while versions alternate', async () => {
    const contents = [0, 1].map(() => ({ a: randomFile(16 * chunk), b: randomFile(16 * chunk) }));
    const versions = Array.from({ length: 8 }, (_, i) =>
      buildVersion(A, i + 1, [
        { path: 'a.bin', bytes: contents[i % 2]!.a },
        { path: 'dir/b.bin', bytes: contents[i % 2]!.b },
      ]),
    );
    const expected = contents.map(
      (c) =>
        new Map([
          ['a.bin', c.a],
          ['dir/b.bin', c.b],
        ]),
    );
    await install(store, versions[0]!);

    let done = false;
    const seen = new Set<number>();
    let fileReads = 0;
    let setReads = 0;
    const reader = (async () => {
      while (!done) {
        // One file read through the link: the whole file is one version.
        for (const path of ['a.bin', 'dir/b.bin']) {
          const bytes = await readFile(join(root, A, path));
          const which = expected.findIndex((e) => e.get(path)!.equals(bytes));
          expect(which, `torn read of ${path}`).not.toBe(-1);
          seen.add(which);
          fileReads++;
        }
        // A read set resolved once: every file from the same version (or the tree is gone: retry).
        const tree = await realpath(join(root, A));
        try {
          const set = new Map([
            ['a.bin', await readFile(join(tree, 'a.bin'))],
            ['dir/b.bin', await readFile(join(tree, 'dir/b.bin'))],
          ]);
          expect(
            expected.some((e) => sameFiles(e, set)),
            'read set mixes versions',
          ).toBe(true);
          setReads++;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
    })();
    // Failures surface at `await reader` below; without this they would also be reported as unhandled.
    reader.catch(() => undefined);
    try {
      for (const built of versions.slice(1)) await install(store, built);
    } finally {
      done = true;
      await reader;
    }
    expect(fileReads).toBeGreaterThan(10);
    expect(setReads).toBeGreaterThan(0);
    expect(seen.size).toBe(2);
    expect(await treeDigests(join(root, A))).toEqual(digests(expected[1]!));
  });

  it('rejects unsafe manifest paths and writes nothing outside the root', async () => {
    const bytes = Buffer.from('evil!');
    const id = createHash('sha256').update(bytes).digest('hex');
    await store.putChunks(A, [{ id, bytes }]);
    for (const path of ['../escape.txt', 'a/../../escape.txt', join(base, 'escape.txt'), 'C:/escape.txt']) {
      // Hand-made canonical JSON: encodeManifest itself refuses these paths.
      const manifest = Buffer.from(
        JSON.stringify({
          format: 1,
          packageId: A,
          sourceVersion: 1,
          files: [{ path, size: 5, mode: 0o644, mtime: 0, chunks: [{ id, size: 5 }] }],
          directories: [],
        }),
      );
      const manifestId = createHash('sha256').update(manifest).digest('hex');
      const error = await rejection(store.activate(A, 1, manifestId, manifest, { seedFromExisting: true }));
      expect(isSitecastError(error, 'UNSAFE_PATH'), String(error)).toBe(true);
    }
    expect(await readdir(base)).toEqual(['dp']);
    expect((await readdir(root)).sort()).toEqual(['.sitecast']);
    expect(await readdir(join(root, '.sitecast/staging'))).toEqual([]);
    expect(await readdir(join(root, '.sitecast/versions'))).toEqual([]);
    expect(await store.packageState(A)).toBeNull();
  });
});

describe('FolderDpStore: a vanished root', () => {
  const v1 = buildVersion(A, 1, [{ path: 'a.bin', bytes: randomFile(3 * chunk) }]);

  it('fails every call with DP_UNAVAILABLE naming the root, reports offline and never recreates it', async () => {
    await install(store, v1);
    expect(await store.health()).toMatchObject({ online: true });
    expect((await store.health()).freeBytes).toBeGreaterThan(0);
    await rm(root, { recursive: true });

    const calls: [string, () => Promise<unknown>][] = [
      ['missingChunks', () => store.missingChunks(A, v1.ids)],
      ['putChunks', () => store.putChunks(A, chunksOf(v1))],
      ['activate', () => store.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: true })],
      ['packageState', () => store.packageState(A)],
      ['verify', () => store.verify(A)],
      ['remove', () => store.remove(A)],
      ['discardPending', () => store.discardPending(A)],
      ['readChunk', () => store.readChunk(v1.ids[0]!)],
    ];
    for (const [name, call] of calls) {
      const error = await rejection(call());
      expect(isSitecastError(error, 'DP_UNAVAILABLE'), `${name}: ${String(error)}`).toBe(true);
      expect((error as Error).message).toContain(root);
    }
    const health = await store.health();
    expect(health.online).toBe(false);
    expect(health.error).toContain(`${root} does not exist`);
    expect(existsSync(root)).toBe(false);

    await writeFile(root, 'not a folder');
    expect(await rejection(store.packageState(A))).toMatchObject({ code: 'DP_UNAVAILABLE' });
    expect((await store.health()).error).toContain('is not a directory');
  });

  it('does not create a missing root unless asked to', async () => {
    const elsewhere = new FolderDpStore({ root: join(base, 'never') });
    expect(await rejection(elsewhere.missingChunks(A, v1.ids))).toMatchObject({ code: 'DP_UNAVAILABLE' });
    expect((await elsewhere.health()).online).toBe(false);
    expect(existsSync(join(base, 'never'))).toBe(false);
  });
});

describe('FolderDpStore: a full disk', () => {
  let mountPoint = '';
  let mounted = false;
  let tmpfs: Tmpfs | null = null;
  const big = 64 * 1024;

  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'sitecast-dp-full-'));
    const m = mountTmpfs(mountPoint, '8m');
    if (!('skipReason' in m)) tmpfs = m;
    mounted = tmpfs !== null;
  });
  afterAll(async () => {
    tmpfs?.unmount();
    await rm(mountPoint, { recursive: true, force: true });
  });

  it('reports DISK_FULL naming the root, presents nothing half-written and keeps the previous version', async (ctx) => {
    if (!mounted) ctx.skip();
    const dpRoot = join(mountPoint, 'dp');
    const dp = new FolderDpStore({ root: dpRoot, create: true });
    const wim = randomFile(3 * 1024 * 1024);
    const v1 = buildVersion(A, 1, [{ path: 'install.wim', bytes: wim }], { chunkSize: big });
    await install(dp, v1);

    // Two more copies need 6 MiB next to the 3 MiB served: the staging tree cannot fit.
    const v2 = buildVersion(
      A,
      2,
      [
        { path: 'install.wim', bytes: wim },
        { path: 'copy1.wim', bytes: wim },
        { path: 'copy2.wim', bytes: wim },
      ],
      { chunkSize: big },
    );
    expect(await dp.missingChunks(A, v2.ids)).toEqual([]);
    const error = await rejection(
      dp.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true }),
    );
    expect(isSitecastError(error, 'DISK_FULL'), String(error)).toBe(true);
    expect((error as Error).message).toContain(dpRoot);
    expect(await dp.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
    expect(await treeDigests(join(dpRoot, A))).toEqual(digests(v1.files));
    expect(await readdir(join(dpRoot, '.sitecast/staging'))).toEqual([]);
    expect(await readdir(join(dpRoot, '.sitecast/versions', A))).toHaveLength(1);

    // Receiving chunks that do not fit fails the same way and leaves no temp files behind.
    const v3 = buildVersion(A, 3, [{ path: 'other.wim', bytes: randomFile(6 * 1024 * 1024) }], {
      chunkSize: big,
    });
    const putError = await rejection(dp.putChunks(A, chunksOf(v3)));
    expect(isSitecastError(putError, 'DISK_FULL'), String(putError)).toBe(true);
    expect(
      (await readdir(join(dpRoot, '.sitecast/incoming', A))).filter((n) => n.startsWith('.tmp-')),
    ).toEqual([]);
    await dp.discardPending(A);
    const health = await dp.health();
    expect(health.online).toBe(true);
    expect(health.freeBytes).toBeGreaterThan(4 * 1024 * 1024);
    expect((await dp.verify(A)).badChunks).toEqual([]);
  });
});
