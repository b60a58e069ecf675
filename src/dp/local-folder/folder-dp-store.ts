/**
 * The storage engine of a DP that keeps content as plain file trees: `<root>/<PackageID>` is a symlink to
 * the current version's tree, the manifests of the current versions are the chunk index, and chunks
 * received for a pending version wait in batch files under `.sitecast/incoming/<PackageID>/`
 * (incoming-chunks.ts). It knows nothing about where
 * it runs: the local-folder adapter wraps it directly, the DP agent will wrap it behind HTTP.
 *
 * Commit point of `activate`: the rename(2) of a new symlink over `<root>/<PackageID>`. Before it the old
 * version is served untouched; after it the new one is, complete and verified (see root-recovery.ts).
 */
import { lstat, mkdir, rename, statfs, symlink, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sha256Hex } from '../../content/index.js';
import type { ChunkId, Manifest } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';
import type { ActivateOptions, DpChunk, DpHealth, DpPackageState, DpVerifyReport } from '../dp-adapter.js';
import { ChunkIndex, type CurrentVersion } from './chunk-index.js';
import { dpFailure, rootProblem, unavailable } from './dp-failure.js';
import {
  errnoOf,
  listNames,
  fsyncDir,
  mkdirOne,
  readRange,
  removeTree,
  writeFileAtomic,
} from './durable-fs.js';
import { IncomingChunks } from './incoming-chunks.js';
import {
  FolderLayout,
  TEMP_PREFIX,
  assertChunkId,
  assertPackageId,
  parseManifestName,
  randomHex8,
} from './folder-layout.js';
import { KeyedMutex } from './keyed-mutex.js';
import { PlannedVersions, type Plan } from './planned-version.js';
import { decodeReceivedManifest } from './received-manifest.js';
import { presentedVersionDir, recoverRoot } from './root-recovery.js';
import { assembleTree, pathInside, throwIfCancelled } from './tree-assembler.js';
import { verifyTree } from './tree-verifier.js';

export interface FolderDpStoreOptions {
  /** The DP folder. Resolved to an absolute path. */
  readonly root: string;
  /** Create the root if it does not exist (only when the DP is added); otherwise a missing root is DP_UNAVAILABLE. */
  readonly create?: boolean;
}

export class FolderDpStore {
  readonly root: string;
  private readonly layout: FolderLayout;
  private readonly index = new ChunkIndex();
  private readonly incoming: IncomingChunks;
  private readonly planned: PlannedVersions;
  private readonly locks = new KeyedMutex();
  private opening: Promise<void> | undefined;
  private createRoot: boolean;

  constructor(options: FolderDpStoreOptions) {
    this.layout = new FolderLayout(resolveRoot(options.root));
    this.root = this.layout.root;
    this.incoming = new IncomingChunks(this.layout);
    this.planned = new PlannedVersions(this.layout);
    this.createRoot = options.create === true;
  }

  /** Chunk ids among `ids` that are neither received for the package nor in any presented tree. */
  async missingChunks(packageId: string, ids: readonly ChunkId[]): Promise<ChunkId[]> {
    ids.forEach(assertChunkId);
    return this.withPackage(packageId, `missingChunks ${packageId}`, async () => {
      const received = new Set(await this.incoming.ids(packageId));
      const placed = (await this.planned.get(packageId))?.placed;
      return [...new Set(ids)].filter((id) => !received.has(id) && !placed?.has(id) && !this.index.has(id));
    });
  }

  /**
   * The version the chunks about to be sent are for (optional, before any of them): each chunk of it that
   * arrives is then written straight to its places in the version's tree (planned-version.ts) instead of
   * a batch file, so activation has little left to copy. Nothing to do when the DP presents it already.
   */
  async prepare(
    packageId: string,
    version: number,
    manifestId: string,
    manifestBytes: Buffer,
  ): Promise<void> {
    const manifest = decodeReceivedManifest(packageId, version, manifestId, manifestBytes);
    await this.withPackage(packageId, `prepare ${packageId} version ${version}`, async () => {
      if (this.index.current(packageId)?.manifestId === manifestId) return;
      await this.planned.prepare(manifestId, manifestBytes, manifest);
    });
  }

  /** Stores chunks for a pending version; all are hashed first, so one bad chunk stores nothing. */
  async putChunks(packageId: string, chunks: readonly DpChunk[], signal?: AbortSignal): Promise<void> {
    for (const chunk of chunks) {
      assertChunkId(chunk.id);
      const actual = sha256Hex(chunk.bytes);
      if (actual !== chunk.id) {
        throw new SitecastError(
          'HASH_MISMATCH',
          `chunk ${chunk.id} for ${packageId}: bytes hash to ${actual}`,
          {
            field: 'bytes',
            id: chunk.id,
          },
        );
      }
    }
    await this.withPackage(packageId, `putChunks ${packageId}`, async () => {
      throwIfCancelled(signal, `putChunks ${packageId}`);
      const unplanned = await this.planned.place(packageId, chunks);
      if (unplanned.length > 0) await this.incoming.put(packageId, unplanned);
    });
  }

  /** Builds, verifies and atomically presents a version (see the file comment for the commit point). */
  async activate(
    packageId: string,
    version: number,
    manifestId: string,
    manifestBytes: Buffer,
    options: ActivateOptions,
  ): Promise<void> {
    const manifest = decodeReceivedManifest(packageId, version, manifestId, manifestBytes);
    const context = `activate ${packageId} version ${version}`;
    await this.withPackage(packageId, context, async () => {
      const current = this.index.current(packageId);
      // Redistribute (no seeding) rebuilds even the current version: that is how a damaged tree is repaired.
      if (current?.manifestId === manifestId && options.seedFromExisting && !options.rebuild) return;
      await this.assertPresentable(packageId);
      const versionDir = FolderLayout.versionDirName(version, manifestId);
      const staging = this.layout.stagingDir(packageId, versionDir);
      const tree = this.layout.versionTree(packageId, versionDir);
      const record = this.layout.manifestRecord(packageId, version, manifestId);
      const currentRecord =
        current && this.layout.manifestRecord(packageId, current.version, current.manifestId);
      const tempLink = join(this.layout.tmp, `${packageId}.${randomHex8()}`);
      const planned = await this.planned.get(packageId);
      const plan: Plan | null = planned?.manifestId === manifestId ? planned : null;
      // Chunks landed in a plan for another manifest count as held (missingChunks): use them (re-hashed).
      const other = planned && !plan ? planned : null;
      const seeds = options.seedFromExisting
        ? (id: ChunkId) => [...this.seedRanges(id), ...(other ? this.planned.rangesOf(other, id) : [])]
        : other && ((id: ChunkId) => this.planned.rangesOf(other, id));
      let movedPlan = false;
      try {
        // Announced (prepare): the sent chunks are in place already; else built from batch files and seeds.
        const { missing } = plan
          ? await this.planned.fill(plan, { incoming: this.incoming, seeds, signal: options.signal })
          : await assembleTree({
              manifest,
              stagingDir: staging,
              incoming: this.incoming,
              seeds,
              signal: options.signal,
            });
        if (missing.length > 0) {
          throw new SitecastError(
            'MISSING_CHUNKS',
            `${context}: ${missing.length} chunk(s) missing on DP ${this.root}, first ${missing[0]}`,
            { missing, packageId, version },
          );
        }
        throwIfCancelled(options.signal, context);
        await mkdirOne(this.layout.packageVersions(packageId));
        if (plan) {
          movedPlan = true;
          await this.planned.moveTree(plan, tree);
        } else await rename(staging, tree);
        await fsyncDir(this.layout.packageVersions(packageId));
        await writeFileAtomic(record, manifestBytes, { durable: true });
        await symlink(this.layout.linkTarget(packageId, versionDir), tempLink);
        await rename(tempLink, this.layout.presented(packageId)); // the commit point
      } catch (e) {
        // The plan's tree went with the move (and goes now): what landed in it is gone.
        if (movedPlan) await this.planned.discard(packageId).catch(() => undefined);
        await removeTree(staging).catch(() => undefined);
        await removeTree(tempLink).catch(() => undefined);
        await removeTree(tree).catch(() => undefined);
        if (record !== currentRecord) await removeTree(record).catch(() => undefined);
        throw e;
      }
      this.index.set({ packageId, version, manifestId, versionDir, manifest });
      // A plan for this version is used up; one for another (older) version is no longer wanted either.
      if (planned && planned.version <= version) await this.planned.discard(packageId).catch(() => undefined);
      await this.afterCommit(
        packageId,
        current,
        record,
        manifest.files.flatMap((f) => f.chunks.map((c) => c.id)),
      );
    });
  }

  /** The manifest of the version the DP presents for the package (the base of a manifest delta), or null. */
  currentManifest(packageId: string): { readonly manifestId: string; readonly manifest: Manifest } | null {
    const current = this.index.current(packageId);
    return current ? { manifestId: current.manifestId, manifest: current.manifest } : null;
  }

  /** What the DP presents for the package, or null. */
  async packageState(packageId: string): Promise<DpPackageState | null> {
    return this.withPackage(packageId, `packageState ${packageId}`, () => {
      const current = this.index.current(packageId);
      return Promise.resolve(current ? { version: current.version, manifestId: current.manifestId } : null);
    });
  }

  /** Re-hashes every chunk of the presented version; changes nothing. NOT_FOUND when the package is absent. */
  async verify(packageId: string, signal?: AbortSignal): Promise<DpVerifyReport> {
    return this.withPackage(packageId, `verify ${packageId}`, async () => {
      const current = this.requireCurrent(packageId);
      const tree = this.layout.versionTree(packageId, current.versionDir);
      const result = await verifyTree(tree, current.manifest, signal);
      return { packageId, version: current.version, ...result };
    });
  }

  /** Unpresents the package first, then deletes its trees, manifest records and pending chunks. Idempotent. */
  async remove(packageId: string): Promise<void> {
    await this.withPackage(packageId, `remove ${packageId}`, async () => {
      if ((await presentedVersionDir(this.layout, packageId)) !== null) {
        await unlink(this.layout.presented(packageId));
        await fsyncDir(this.root);
      }
      this.index.delete(packageId);
      await removeTree(this.layout.packageVersions(packageId));
      for (const name of await listNames(this.layout.manifests)) {
        if (parseManifestName(name)?.packageId === packageId)
          await removeTree(join(this.layout.manifests, name));
      }
      await this.dropPending(packageId);
    });
  }

  /** Drops the chunks received for a version not yet activated, and any staging tree. */
  async discardPending(packageId: string): Promise<void> {
    await this.withPackage(packageId, `discardPending ${packageId}`, () => this.dropPending(packageId));
  }

  /**
   * Count and bytes of the chunks received for a pending version (each was hashed on arrival). Not queued
   * behind the package's calls, so progress can be read while a long activation runs.
   */
  async pendingChunks(packageId: string): Promise<{ chunks: number; bytes: number }> {
    return this.withRoot(packageId, `pendingChunks ${packageId}`, async () => {
      const { chunks, bytes } = await this.incoming.totals(packageId);
      const plan = await this.planned.get(packageId);
      return { chunks: chunks + (plan?.placed.size ?? 0), bytes: bytes + (plan?.placedBytes ?? 0) };
    });
  }

  /** Ids of the chunks received for a pending version (only those among `among` if given); not queued. */
  async receivedChunkIds(packageId: string, among?: readonly ChunkId[]): Promise<Set<ChunkId>> {
    return this.withRoot(packageId, `receivedChunkIds ${packageId}`, async () => {
      const placed = (await this.planned.get(packageId))?.placed ?? new Set<ChunkId>();
      if (!among) return new Set([...(await this.incoming.ids(packageId)), ...placed]);
      const held = new Set<ChunkId>();
      for (const id of among) if (placed.has(id) || (await this.incoming.has(packageId, id))) held.add(id);
      return held;
    });
  }

  /** A verified copy of a chunk from a presented tree or from any package's pending chunks (peers pull these). */
  async readChunk(id: ChunkId): Promise<Buffer> {
    assertChunkId(id);
    const bytes = await (await this.chunkReader(`readChunk ${id}`))(id);
    if (bytes) return bytes;
    throw new SitecastError('NOT_FOUND', `chunk ${id} is not on DP ${this.root}`, { field: 'id', id });
  }

  /**
   * A reader of verified chunk copies (null: the DP has no good copy) for one request reading several:
   * the root is checked once, here, and the packages with pending chunks listed once, on first need.
   */
  async chunkReader(context = 'readChunks'): Promise<(id: ChunkId) => Promise<Buffer | null>> {
    try {
      await this.ready(context);
    } catch (e) {
      throw await dpFailure(e, this.root, context);
    }
    let pending: string[] | undefined;
    const fromPlans = this.planned.reader();
    return async (id) => {
      assertChunkId(id);
      try {
        for (const range of this.seedRanges(id)) {
          const bytes = await readRange(range.file, range.offset, range.size);
          if (bytes && sha256Hex(bytes) === id) return bytes;
        }
        for (const packageId of (pending ??= await this.incoming.packageIds())) {
          const bytes = await this.incoming.read(packageId, id);
          if (bytes && sha256Hex(bytes) === id) return bytes;
        }
        return await fromPlans(id);
      } catch (e) {
        throw await dpFailure(e, this.root, `readChunk ${id}`);
      }
    };
  }

  async health(): Promise<DpHealth> {
    try {
      await this.ready('health');
      // Being root makes access(W_OK) meaningless; a real write also catches read-only mounts.
      const probe = join(this.layout.tmp, `${TEMP_PREFIX}probe-${randomHex8()}`);
      await writeFileAtomic(probe, Buffer.from('probe'), { durable: false });
      await unlink(probe);
      const fs = await statfs(this.root);
      return {
        online: true,
        freeBytes: Number(fs.bavail) * Number(fs.bsize),
        totalBytes: Number(fs.blocks) * Number(fs.bsize),
      };
    } catch (e) {
      const failure = await dpFailure(e, this.root, 'health');
      return { online: false, error: failure.message };
    }
  }

  private async withPackage<T>(packageId: string, context: string, work: () => Promise<T>): Promise<T> {
    assertPackageId(packageId);
    try {
      // Taken before any await, so calls on one package run in the order they were made.
      return await this.locks.run(packageId, async () => {
        await this.ready(context);
        return work();
      });
    } catch (e) {
      throw await dpFailure(e, this.root, context);
    }
  }

  /** Like withPackage for read-only queries that need not wait for the package's running calls. */
  private async withRoot<T>(packageId: string, context: string, work: () => Promise<T>): Promise<T> {
    assertPackageId(packageId);
    try {
      await this.ready(context);
      return await work();
    } catch (e) {
      throw await dpFailure(e, this.root, context);
    }
  }

  /** Checks the root on every call (never recreating it) and runs crash recovery once per appearance. */
  private async ready(context: string): Promise<void> {
    if (this.createRoot) {
      await mkdir(this.root, { recursive: true });
      this.createRoot = false;
    }
    const problem = await rootProblem(this.root);
    if (problem) {
      // The root may come back (a remounted disk) with other content: reload it then.
      this.opening = undefined;
      throw unavailable(this.root, problem, context);
    }
    this.opening ??= this.open().catch((e: unknown) => {
      this.opening = undefined;
      throw e;
    });
    await this.opening;
  }

  private async open(): Promise<void> {
    this.index.clear();
    this.incoming.reset();
    await this.planned.reset();
    for (const current of await recoverRoot(this.layout, this.incoming)) this.index.set(current);
  }

  private requireCurrent(packageId: string): CurrentVersion {
    const current = this.index.current(packageId);
    if (!current) {
      throw new SitecastError('NOT_FOUND', `package ${packageId} is not on DP ${this.root}`, {
        field: 'packageId',
        packageId,
      });
    }
    return current;
  }

  /** `<root>/<PackageID>` must be absent or our own link: an admin's folder of that name is never replaced. */
  private async assertPresentable(packageId: string): Promise<void> {
    const presented = this.layout.presented(packageId);
    const stat = await lstat(presented).catch((e: unknown) => {
      if (errnoOf(e) === 'ENOENT') return null;
      throw e;
    });
    if (stat && (await presentedVersionDir(this.layout, packageId)) === null) {
      throw new SitecastError('ALREADY_EXISTS', `${presented} exists and is not managed by sitecast`, {
        path: presented,
      });
    }
  }

  private seedRanges(id: ChunkId): { file: string; offset: number; size: number }[] {
    return this.index.locate(id).map((l) => ({
      file: pathInside(this.layout.versionTree(l.packageId, l.versionDir), l.path),
      offset: l.offset,
      size: l.size,
    }));
  }

  /**
   * Best-effort cleanup once the new version is presented; whatever a crash leaves here is finished by
   * recovery on the next open, so failures are not reported to a caller whose activation succeeded.
   */
  private async afterCommit(
    packageId: string,
    previous: CurrentVersion | undefined,
    record: string,
    consumed: readonly ChunkId[],
  ): Promise<void> {
    try {
      await fsyncDir(this.root);
      if (previous) {
        await removeTree(this.layout.versionTree(packageId, previous.versionDir));
        const old = this.layout.manifestRecord(packageId, previous.version, previous.manifestId);
        if (old !== record) await removeTree(old);
      }
      await this.incoming.release(packageId, new Set(consumed));
    } catch {
      // See the JSDoc: recovery converges.
    }
  }

  private async dropPending(packageId: string): Promise<void> {
    await this.incoming.discard(packageId);
    await this.planned.discard(packageId);
    for (const name of await listNames(this.layout.staging)) {
      if (name.startsWith(`${packageId}.`)) await removeTree(join(this.layout.staging, name));
    }
  }
}

function resolveRoot(root: string): string {
  if (root.length === 0)
    throw new SitecastError('INVALID_PARAMETER', 'DP root must not be empty', { field: 'root' });
  return resolve(root);
}
