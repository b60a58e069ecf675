/**
 * Snapshot of a package source into content-addressed chunks: list the source (source-walk.ts), chunk and
 * hash every file on the pool's worker threads, hand the chunks the store lacks to the ingest sink, and
 * return the manifest. The caller writes the manifest after flush(), so a failed snapshot leaves no version.
 *
 * A file is accepted only if a stat before and after reading it agree (size, mtime, ctime, inode); a file
 * that changed is read again, up to READ_ATTEMPTS times, then the snapshot fails with SOURCE_CHANGING.
 *
 * Small files (≤ SMALL_FILE_BYTES when listed) go to a worker in groups of up to GROUP_BYTES, which reads
 * each whole, checks it with fstat/stat itself and returns the group's chunks in one message: per-file
 * stats and messages on the main thread cost ~0.25 ms a file, which capped trees of small files. Larger
 * files go by segments (chunk-file.ts) with the stats here. Either way each file is chunked from its start.
 */
import { stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { isSitecastError, SitecastError, toSitecastError, type ProgressListener } from '../kernel/index.js';
import type { ChunkerPool } from './chunker-pool.js';
import { cancelledError, readError } from './read-error.js';
import { walkSource, type SourceFile } from './source-walk.js';
import type { ChunkId, ChunkRef, IngestSink, Manifest, ManifestFile, SnapshotOptions } from './types.js';
import { sameFile } from './file-identity.js';
import { NO_FORCED_CUTS } from './segment-plan.js';
import { wimCutsOrNone } from './wim-boundaries.js';

export interface SnapshotSourceOptions extends SnapshotOptions {
  readonly pool: ChunkerPool;
  /** Cut `.wim` files at their resource boundaries before FastCDC (wim-boundaries.ts); default true. */
  readonly wimAwareChunking?: boolean;
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
const SMALL_FILE_BYTES = 1024 * 1024;
/** Listed bytes per group: fits one worker block (4 MiB), so a group is usually one message. */
const GROUP_BYTES = 4 * 1024 * 1024;
const GROUP_FILES = 1024;

/** Files [first, end) of the sorted list: one large file, or a group of small ones. */
interface Unit {
  readonly first: number;
  readonly end: number;
  readonly grouped: boolean;
}

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
  const wimAware = options.wimAwareChunking ?? true;
  const results: ManifestFile[] = new Array<ManifestFile>(tree.files.length);
  const units = unitsOf(tree.files);
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < units.length) {
      const u = units[next++]!;
      try {
        if (u.grouped) {
          const files = tree.files.slice(u.first, u.end);
          const done = await snapshotGroup(tree.root, files, pool, ingest, progress, lanes.signal);
          for (const [j, f] of done.entries()) {
            // Grown past a worker block since the walk: read by segments, after the group let go of its budget.
            results[u.first + j] =
              f ?? (await snapshotFile(tree.root, files[j]!, pool, ingest, progress, lanes.signal, wimAware));
          }
        } else {
          results[u.first] = await snapshotFile(
            tree.root,
            tree.files[u.first]!,
            pool,
            ingest,
            progress,
            lanes.signal,
            wimAware,
          );
        }
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

function unitsOf(files: readonly SourceFile[]): Unit[] {
  const units: Unit[] = [];
  let first = 0;
  let bytes = 0;
  const close = (end: number): void => {
    if (end > first) units.push({ first, end, grouped: true });
  };
  for (let i = 0; i < files.length; i++) {
    const size = files[i]!.size;
    if (size > SMALL_FILE_BYTES) {
      close(i);
      units.push({ first: i, end: i + 1, grouped: false });
      first = i + 1;
      bytes = 0;
      continue;
    }
    if (i > first && (bytes + size > GROUP_BYTES || i - first >= GROUP_FILES)) {
      close(i);
      first = i;
      bytes = 0;
    }
    bytes += size;
  }
  close(files.length);
  return units;
}

/** Snapshots a group of small files on one worker; undefined for a file to read by segments instead. */
async function snapshotGroup(
  root: string,
  files: readonly SourceFile[],
  pool: ChunkerPool,
  ingest: Ingest,
  progress: ProgressThrottle,
  signal: AbortSignal,
): Promise<(ManifestFile | undefined)[]> {
  const out = new Array<ManifestFile | undefined>(files.length).fill(undefined);
  const paths = files.map((f) => f.absolutePath);
  const bytes = files.reduce((n, f) => n + f.size, 0);
  try {
    for await (const r of pool.chunkFiles(paths, bytes, { attempts: READ_ATTEMPTS, signal })) {
      const file = files[r.index]!;
      if ('problem' in r) {
        if (r.problem === 'TOO_LARGE') continue;
        throw problemError(root, file, r.problem, r.message);
      }
      progress.grow(r.size - file.size);
      const chunks: ChunkRef[] = [];
      for (const c of r.chunks) {
        chunks.push({ id: c.id, size: c.size });
        const adding = ingest.add(c.id, c.bytes);
        if (adding) await adding;
        progress.add(c.size, file.path);
      }
      out[r.index] = { path: file.path, size: r.size, mode: r.mode, mtime: r.mtimeMs, chunks };
    }
  } catch (e) {
    if (signal.aborted) throw cancelledError(root);
    throw e;
  }
  return out;
}

function problemError(root: string, file: SourceFile, problem: string, message: string): SitecastError {
  switch (problem) {
    case 'CHANGING':
      return changingError(root, file);
    case 'GONE':
      return new SitecastError(
        'SOURCE_CHANGING',
        `${file.path} in ${root} disappeared while the source was read`,
        {
          path: file.path,
        },
      );
    case 'NOT_FILE':
      return new SitecastError(
        'SOURCE_CHANGING',
        `${file.path} in ${root} stopped being a file while the source was read`,
        { path: file.path },
      );
    default:
      return readError(problem, message, file.absolutePath);
  }
}

function changingError(root: string, file: SourceFile): SitecastError {
  return new SitecastError(
    'SOURCE_CHANGING',
    `${file.path} in ${root} kept changing while it was read (${READ_ATTEMPTS} attempts); ` +
      'refresh again once nothing writes to it',
    { path: file.path },
  );
}

async function snapshotFile(
  root: string,
  file: SourceFile,
  pool: ChunkerPool,
  ingest: Ingest,
  progress: ProgressThrottle,
  signal: AbortSignal,
  wimAware: boolean,
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
      const cuts = wimAware ? await wimCutsOrNone(file.absolutePath, size) : NO_FORCED_CUTS;
      for await (const c of pool.chunkFile(file.absolutePath, size, { signal, cuts })) {
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
  throw changingError(root, file);
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
