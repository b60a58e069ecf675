/**
 * Snapshot of a package source into content-addressed chunks: list the source (source-walk.ts), chunk and
 * hash every file on the pool's worker threads, hand the chunks the store lacks to the ingest sink, and
 * return the manifest. The caller writes the manifest after flush(), so a failed snapshot leaves no version.
 *
 * A file is accepted only if a stat before and after reading it agree (size, mtime, ctime, inode); a file
 * that changed is read again, up to READ_ATTEMPTS times, then the snapshot fails with SOURCE_CHANGING.
 */
import { stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { isSitecastError, SitecastError, toSitecastError, type ProgressListener } from '../kernel/index.js';
import type { ChunkerPool } from './chunker-pool.js';
import { cancelledError } from './read-error.js';
import { walkSource, type SourceFile } from './source-walk.js';
import type { ChunkId, ChunkRef, IngestSink, Manifest, ManifestFile, SnapshotOptions } from './types.js';

export interface SnapshotSourceOptions extends SnapshotOptions {
  readonly pool: ChunkerPool;
}

export interface SourceSnapshot {
  readonly manifest: Manifest;
  readonly totalBytes: number;
  readonly fileCount: number;
  /** Chunk references in the manifest (a chunk used twice counts twice). */
  readonly chunkCount: number;
  /** Bytes of chunks added to the sink (the store did not have them). */
  readonly newBytes: number;
}

const READ_ATTEMPTS = 3;
const PROGRESS_INTERVAL_MS = 100;

/** Snapshots the folder or file at `sourcePath`; see the file comment. */
export async function snapshotSource(
  sourcePath: string,
  sink: IngestSink,
  options: SnapshotSourceOptions,
): Promise<SourceSnapshot> {
  const { pool, signal } = options;
  if (signal?.aborted) throw cancelledError(sourcePath);
  const tree = await walkSource(sourcePath, signal);
  const progress = new ProgressThrottle(
    options.onProgress,
    options.packageId,
    tree.files.reduce((n, f) => n + f.size, 0),
  );
  progress.emit(tree.root, true);

  const lanes = new AbortController();
  const stopLanes = (): void => lanes.abort();
  signal?.addEventListener('abort', stopLanes, { once: true });
  const ingest = new Ingest(sink);
  const results: ManifestFile[] = new Array<ManifestFile>(tree.files.length);
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < tree.files.length) {
      const i = next++;
      try {
        results[i] = await snapshotFile(tree.root, tree.files[i]!, pool, ingest, progress, lanes.signal);
      } catch (e) {
        failure ??= e;
        lanes.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, pool.threads * 4) }, lane));
    await ingest.settled();
    if (signal?.aborted) throw cancelledError(tree.root);
    if (failure !== undefined) throw toSitecastError(failure, `snapshot of ${tree.root}`);
    await sink.flush();
  } finally {
    signal?.removeEventListener('abort', stopLanes);
  }

  let totalBytes = 0;
  let chunkCount = 0;
  for (const f of results) {
    totalBytes += f.size;
    chunkCount += f.chunks.length;
  }
  progress.finish(totalBytes);
  return {
    manifest: {
      format: 1,
      packageId: options.packageId,
      sourceVersion: options.sourceVersion,
      files: results,
      directories: tree.directories,
    },
    totalBytes,
    fileCount: results.length,
    chunkCount,
    newBytes: ingest.newBytes,
  };
}

async function snapshotFile(
  root: string,
  file: SourceFile,
  pool: ChunkerPool,
  ingest: Ingest,
  progress: ProgressThrottle,
  signal: AbortSignal,
): Promise<ManifestFile> {
  let expected = file.size;
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    const before = await statFile(root, file);
    const size = Number(before.size);
    // Keep bytesDone <= bytesTotal when the size moved or a file is read again.
    progress.grow(size - expected);
    expected = 0;
    const chunks: ChunkRef[] = [];
    try {
      for await (const c of pool.chunkFile(file.absolutePath, size, { signal })) {
        chunks.push({ id: c.id, size: c.size });
        const adding = ingest.add(c.id, c.bytes);
        if (adding) await adding;
        progress.add(c.size, file.path);
      }
    } catch (e) {
      if (signal.aborted) throw cancelledError(root);
      // Shorter than stat said, or gone: it is changing; the next stat tells.
      if (!isSitecastError(e, 'SOURCE_CHANGING') && !isSitecastError(e, 'SOURCE_NOT_FOUND')) throw e;
      continue;
    }
    const after = await statFile(root, file);
    if (sameFile(before, after)) {
      return {
        path: file.path,
        size,
        mode: Number(after.mode) & 0o777,
        mtime: Number(after.mtimeMs),
        chunks,
      };
    }
  }
  throw new SitecastError(
    'SOURCE_CHANGING',
    `${file.path} in ${root} kept changing while it was read (${READ_ATTEMPTS} attempts); ` +
      'refresh again once nothing writes to it',
    { path: file.path },
  );
}

async function statFile(root: string, file: SourceFile): Promise<BigIntStats> {
  let st: BigIntStats;
  try {
    st = await stat(file.absolutePath, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SitecastError(
        'SOURCE_CHANGING',
        `${file.path} in ${root} disappeared while the source was read`,
        {
          path: file.path,
        },
      );
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new SitecastError(
        'SOURCE_ACCESS_DENIED',
        `${file.path} in ${root} is not readable (permission denied)`,
        {
          path: file.path,
        },
      );
    }
    throw toSitecastError(e, `reading ${file.path} in ${root}`);
  }
  if (!st.isFile()) {
    throw new SitecastError(
      'SOURCE_CHANGING',
      `${file.path} in ${root} stopped being a file while the source was read`,
      {
        path: file.path,
      },
    );
  }
  return st;
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return (
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.ino === b.ino &&
    a.dev === b.dev
  );
}

/** Adds each new chunk to the sink once, one call at a time (files are read concurrently). */
class Ingest {
  newBytes = 0;
  readonly #added = new Set<ChunkId>();
  #tail: Promise<void> = Promise.resolve();
  /** Sink calls started and not yet settled. */
  #busy = 0;

  constructor(readonly sink: IngestSink) {}

  /** Undefined when the chunk is not new (no promise on the common paths), else the sink call. */
  add(id: ChunkId, bytes: Uint8Array): Promise<void> | undefined {
    if (this.#added.has(id) || this.sink.hasChunk(id)) return undefined;
    this.#added.add(id);
    this.newBytes += bytes.length;
    const call =
      this.#busy === 0 ? this.sink.addChunk(id, bytes) : this.#tail.then(() => this.sink.addChunk(id, bytes));
    this.#busy++;
    const settled = call.then(
      () => void this.#busy--,
      () => void this.#busy--,
    );
    this.#tail = settled;
    return call;
  }

  /** Resolves once no sink call is running. */
  settled(): Promise<void> {
    return this.#tail;
  }
}

/** At most one progress event per PROGRESS_INTERVAL_MS, plus the first and the last. */
class ProgressThrottle {
  #done = 0;
  #total: number;
  #last = 0;

  constructor(
    readonly listener: ProgressListener | undefined,
    readonly packageId: string,
    total: number,
  ) {
    this.#total = total;
  }

  grow(bytes: number): void {
    this.#total += bytes;
  }

  add(bytes: number, detail: string): void {
    this.#done += bytes;
    this.emit(detail, false);
  }

  finish(total: number): void {
    this.#done = total;
    this.#total = total;
    this.emit('done', true);
  }

  emit(detail: string, force: boolean): void {
    if (!this.listener) return;
    const now = Date.now();
    if (!force && now - this.#last < PROGRESS_INTERVAL_MS) return;
    this.#last = now;
    this.listener({
      operation: 'snapshot',
      packageId: this.packageId,
      bytesDone: this.#done,
      bytesTotal: Math.max(this.#total, this.#done),
      detail,
    });
  }
}
