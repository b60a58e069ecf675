/**
 * The content model shared by the site's content library, every DP and (later) child sites.
 * A chunk id is the lowercase hex SHA-256 of the chunk's uncompressed bytes.
 */
import type { ProgressListener } from '../kernel/index.js';

export type ChunkId = string;

export interface ChunkRef {
  readonly id: ChunkId;
  readonly size: number;
}

export interface ManifestFile {
  /** Normalised relative POSIX path (design invariant 5). */
  readonly path: string;
  readonly size: number;
  /** POSIX permission bits (e.g. 0o644). */
  readonly mode: number;
  /** Modification time, epoch ms (integer). */
  readonly mtime: number;
  /** Ordered chunks whose concatenation is the file. Empty for an empty file. */
  readonly chunks: readonly ChunkRef[];
}

/** One version of a package's content. Its id is the SHA-256 of its canonical bytes. */
export interface Manifest {
  readonly format: 1;
  readonly packageId: string;
  readonly sourceVersion: number;
  /** Sorted by path (UTF-8 byte order). */
  readonly files: readonly ManifestFile[];
  /** Directories that must exist even when empty, sorted. */
  readonly directories: readonly string[];
}

/** A chunk-addressed store. Implementations: the site's pack-file library; later S3. */
export interface ChunkStore {
  /** The subset of `ids` present in the store. */
  has(ids: readonly ChunkId[]): Promise<Set<ChunkId>>;
  /** The chunk's bytes, verified against its id; NOT_FOUND or CORRUPT_DATA otherwise. */
  get(id: ChunkId): Promise<Buffer>;
  /** Stores a chunk after checking that its SHA-256 equals `id` (HASH_MISMATCH otherwise). */
  put(id: ChunkId, bytes: Buffer): Promise<void>;
}

export interface ManifestStore {
  /** Writes canonical manifest bytes (temp then rename) and returns its id. */
  putManifest(manifest: Manifest): Promise<string>;
  /** The manifest with this id, verified against its id. */
  getManifest(id: string): Promise<Manifest>;
  /** The canonical bytes of the manifest with this id. */
  getManifestBytes(id: string): Promise<Buffer>;
  hasManifest(id: string): Promise<boolean>;
  listManifests(): Promise<string[]>;
  deleteManifest(id: string): Promise<void>;
}

export interface SnapshotOptions {
  readonly packageId: string;
  readonly sourceVersion: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

export interface SnapshotResult {
  readonly manifest: Manifest;
  readonly manifestId: string;
  readonly totalBytes: number;
  readonly fileCount: number;
  readonly chunkCount: number;
  /** Bytes of chunks the library did not have before this snapshot. */
  readonly newBytes: number;
}

export interface GcResult {
  readonly chunksKept: number;
  readonly chunksRemoved: number;
  readonly bytesFreed: number;
  readonly manifestsRemoved: number;
}

/** The ingest side of the content library: what a snapshot writes new chunks into. */
export interface IngestSink {
  /** True when the store already holds the chunk (in-memory index, no I/O). Pins it until end(). */
  hasChunk(id: ChunkId): boolean;
  /**
   * Adds a chunk whose id the caller computed from these very bytes. May buffer; durable after flush().
   * The bytes are only valid until the returned promise settles (the snapshot reuses their buffer): copy them
   * to keep them.
   */
  addChunk(id: ChunkId, bytes: Uint8Array): Promise<void>;
  /** Makes every chunk added so far durable (fsync'd and indexed). */
  flush(): Promise<void>;
  /** Ends the session: unpins chunks (a manifest written after flush() now protects them from GC). */
  end(): Promise<void>;
}
