/**
 * The site's content library chunk store on a filesystem: chunks live in append-only pack files
 * (`<root>/packs/<seq>.pack` + `<seq>.idx`, see pack-format.ts) with an in-memory index, because one file
 * per chunk costs more than the hashing (casync spent half its ingest creating files).
 *
 * One process owns a store directory at a time. Writers: ingest sessions (snapshots), put/putMany
 * (received chunks, group-committed), and GC compaction; each writes its own pack, so they never block
 * each other. GC and verification take the store mutex; index mutations are synchronous and so atomic.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SitecastError } from '../kernel/index.js';
import { AsyncMutex } from './async-mutex.js';
import { AlignedBufferPool } from './direct-io.js';
import { isErrno, storeIoError } from './durable-file.js';
import { FdCache } from './fd-cache.js';
import { PackIngestSession } from './ingest-session.js';
import type { IngestHost } from './ingest-session.js';
import { assertChunkId, sha256Of } from './pack-format.js';
import { PackIndex } from './pack-index.js';
import type { ChunkRecord } from './pack-index.js';
import { loadPacks } from './pack-loader.js';
import type { LoadReport } from './pack-loader.js';
import { sweepPacks } from './pack-sweep.js';
import type { SweepHost, SweepOptions, SweepResult } from './pack-sweep.js';
import { PackWriter } from './pack-writer.js';
import type { SealedPack } from './pack-writer.js';
import { verifyPacks } from './verify-store.js';
import type { VerifyStoreOptions, VerifyStoreReport } from './verify-store.js';
import type { ChunkId, ChunkStore, IngestSink } from './types.js';

export interface PackStoreOptions {
  /** An ingest pack is sealed and a new one started at this size. Default 256 MiB. */
  readonly packBytes?: number;
  /**
   * Staging buffer per open pack (two are used, one filling while the other is written), rounded up to a
   * multiple of 4 KiB (direct writes). Default 8 MiB.
   */
  readonly writeBufferBytes?: number;
  /** Pack read handles kept open. Default 64. */
  readonly maxOpenFiles?: number;
  /** Where warnings go (a quarantined pack). Default: process.emitWarning. */
  readonly warn?: (message: string) => void;
  /** Bytes of recently read, verified chunks kept for `get(id, { cache: true })`. Default 96 MiB; 0: none. */
  readonly readCacheBytes?: number;
}

export interface GetChunkOptions {
  /**
   * For readers that expect others to read the same chunks soon (one package sent to several DPs at
   * once): serve from, and add to, a bounded LRU of chunks read and verified recently, and share one read
   * among concurrent readers of a chunk. The bytes (verified when read) are SHARED with the cache and the
   * other readers: callers only read them (send, hash, copy), never write into them. Handing out copies
   * cost the site one allocation per chunk per DP, and those allocations drove V8 into a full garbage
   * collection every ~64 MiB: a third of the machine's CPU while pushing 1 GiB to 8 DPs.
   */
  readonly cache?: boolean;
}

export interface PackStoreStats {
  /** Distinct chunks in the store. */
  readonly chunks: number;
  readonly chunkBytes: number;
  readonly packs: number;
  /** Bytes of all pack files. */
  readonly packBytes: number;
  /** Pack bytes no chunk needs: duplicates, plus dead chunks the last GC left in place (an estimate). */
  readonly reclaimableBytes: number;
  readonly pinnedChunks: number;
  readonly openSessions: number;
}

export interface ChunkToPut {
  readonly id: ChunkId;
  readonly bytes: Buffer;
}

interface PutBatch {
  readonly items: ChunkToPut[];
  readonly done: Promise<void>;
}

export class PackStore implements ChunkStore {
  readonly root: string;
  /** What opening found: temp files and unindexed packs removed, packs quarantined. */
  readonly loadReport: LoadReport;
  readonly #packsDir: string;
  readonly #index: PackIndex;
  readonly #fds: FdCache;
  readonly #mutex = new AsyncMutex();
  readonly #sessions = new Set<PackIngestSession>();
  readonly #packBytes: number;
  readonly #buffers: AlignedBufferPool;
  #nextSeq: number;
  #closed = false;
  #putChain: Promise<void> = Promise.resolve();
  #openBatch: PutBatch | null = null;
  readonly #recent: RecentChunks;
  /** Reads in flight through the cache, shared by concurrent readers of one chunk. */
  readonly #reading = new Map<ChunkId, Promise<Buffer>>();
  readonly #host: IngestHost & SweepHost;

  private constructor(root: string, index: PackIndex, report: LoadReport, options: PackStoreOptions) {
    this.root = root;
    this.loadReport = report;
    this.#packsDir = join(root, 'packs');
    this.#index = index;
    this.#nextSeq = report.nextSeq;
    this.#packBytes = options.packBytes ?? 256 * 1024 * 1024;
    this.#buffers = new AlignedBufferPool(options.writeBufferBytes ?? 8 * 1024 * 1024);
    this.#fds = new FdCache(options.maxOpenFiles ?? 64);
    this.#recent = new RecentChunks(options.readCacheBytes ?? 96 * 1024 * 1024);
    this.#host = {
      index,
      fds: this.#fds,
      packBytes: this.#packBytes,
      createWriter: () => PackWriter.create(this.#packsDir, this.#nextSeq++, this.#buffers),
      registerSealed: (sealed: SealedPack) => void index.addPack(sealed),
      sessionEnded: (session: PackIngestSession) => void this.#sessions.delete(session),
      readRecord: (rec: ChunkRecord) => this.#readRecord(rec),
    };
  }

  /** Opens (creating if needed) the store under `root`, recovering from an interrupted write. */
  static async open(root: string, options: PackStoreOptions = {}): Promise<PackStore> {
    const cacheBytes = options.readCacheBytes;
    if (cacheBytes !== undefined && !(Number.isSafeInteger(cacheBytes) && cacheBytes >= 0)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `readCacheBytes must be an integer ≥ 0, got ${cacheBytes}`,
        {
          field: 'readCacheBytes',
        },
      );
    }
    for (const field of ['packBytes', 'writeBufferBytes', 'maxOpenFiles'] as const) {
      const v = options[field];
      if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
        throw new SitecastError('INVALID_PARAMETER', `${field} must be a positive integer, got ${v}`, {
          field,
        });
      }
    }
    const packsDir = join(root, 'packs');
    try {
      await mkdir(packsDir, { recursive: true });
    } catch (e) {
      throw storeIoError(e, `creating pack directory ${packsDir}`);
    }
    const warn =
      options.warn ?? ((m: string) => process.emitWarning(m, { code: 'SITECAST_PACK_QUARANTINED' }));
    const index = new PackIndex(packsDir);
    const report = await loadPacks(packsDir, join(root, 'quarantine'), index, warn);
    return new PackStore(root, index, report, options);
  }

  /** Starts an ingest session (a snapshot's sink). Several may run at once. */
  beginIngest(): IngestSink {
    this.#assertOpen();
    const session = new PackIngestSession(this.#host);
    this.#sessions.add(session);
    return session;
  }

  has(ids: readonly ChunkId[]): Promise<Set<ChunkId>> {
    this.#assertOpen();
    const present = new Set<ChunkId>();
    for (const id of ids) if (this.#index.has(id)) present.add(id);
    return Promise.resolve(present);
  }

  /** Sync form of has() for one id. */
  hasSync(id: ChunkId): boolean {
    return this.#index.has(id);
  }

  /** The chunk's bytes, verified against `id` when read (NOT_FOUND, CORRUPT_DATA); see GetChunkOptions. */
  async get(id: ChunkId, options: GetChunkOptions = {}): Promise<Buffer> {
    this.#assertOpen();
    assertChunkId(id);
    if (!options.cache || this.#recent.maxBytes === 0) return this.#readVerified(id);
    // A chunk GC or verify({ dropBad }) unindexed is gone, cached or not.
    const cached = this.#index.has(id) ? this.#recent.get(id) : undefined;
    if (cached) return cached;
    let reading = this.#reading.get(id);
    if (!reading) {
      reading = this.#readVerified(id).finally(() => this.#reading.delete(id));
      this.#reading.set(id, reading);
      // Only bytes that passed the hash check get here (a failed read rejects instead).
      reading.then((bytes) => this.#recent.add(id, bytes)).catch(() => undefined);
    }
    return reading;
  }

  async #readVerified(id: ChunkId): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const rec = this.#index.get(id);
      if (!rec) throw new SitecastError('NOT_FOUND', `chunk ${id} is not in the content library`, { id });
      let bytes: Buffer;
      try {
        bytes = await this.#readRecord(rec);
      } catch (e) {
        // GC moved the chunk to a compacted pack and deleted the old one between lookup and open.
        if (isErrno(e, 'ENOENT') && attempt < 3 && this.#index.get(id) !== rec) continue;
        throw readError(e, rec);
      }
      if (sha256Of(bytes) !== id) {
        throw new SitecastError(
          'CORRUPT_DATA',
          `chunk ${id} in pack ${rec.pack.packPath} at offset ${rec.offset} does not match its hash`,
          { id, path: rec.pack.packPath, offset: rec.offset },
        );
      }
      return bytes;
    }
  }

  /** Stores a received chunk durably after checking its hash (HASH_MISMATCH otherwise). */
  put(id: ChunkId, bytes: Buffer): Promise<void> {
    return this.putMany([{ id, bytes }]);
  }

  /**
   * Stores received chunks durably; every hash is checked before anything is written. Concurrent calls
   * are group-committed into one pack, so per-chunk PUTs do not create a pack each.
   */
  async putMany(chunks: readonly ChunkToPut[]): Promise<void> {
    this.#assertOpen();
    const fresh: ChunkToPut[] = [];
    for (const c of chunks) {
      assertChunkId(c.id);
      const actual = sha256Of(c.bytes);
      if (actual !== c.id) {
        throw new SitecastError('HASH_MISMATCH', `chunk ${c.id}: received bytes hash to ${actual}`, {
          id: c.id,
          field: 'bytes',
        });
      }
      if (!this.#index.has(c.id)) fresh.push(c);
    }
    if (fresh.length === 0) return;
    let batch = this.#openBatch;
    if (!batch) {
      const items: ChunkToPut[] = [];
      const done = this.#putChain.then(() => {
        if (this.#openBatch?.items === items) this.#openBatch = null;
        return this.#writeBatch(items);
      });
      batch = { items, done };
      this.#openBatch = batch;
      this.#putChain = done.catch(() => undefined);
    }
    batch.items.push(...fresh);
    await batch.done;
  }

  stats(): PackStoreStats {
    const i = this.#index;
    return {
      chunks: i.chunkCount,
      chunkBytes: i.chunkBytes,
      packs: i.packCount,
      packBytes: i.packBytes,
      reclaimableBytes: i.packBytes - i.chunkBytes + i.deadBytes(),
      pinnedChunks: i.pinCount,
      openSessions: this.#sessions.size,
    };
  }

  /**
   * GC's sweep (see collectGarbage in gc.ts, which marks from manifests): drops chunks for which `isLive`
   * is false and no ingest session pins them, deletes packs left without live chunks and compacts packs
   * whose live fraction is below the threshold.
   */
  sweep(isLive: (id: ChunkId) => boolean, options: SweepOptions = {}): Promise<SweepResult> {
    this.#assertOpen();
    return this.#mutex.run(() => sweepPacks(this.#host, isLive, options));
  }

  /** Re-hashes every chunk; reports (and with `dropBad`, unindexes so a re-put can repair) bad ones. */
  verify(options: VerifyStoreOptions = {}): Promise<VerifyStoreReport> {
    this.#assertOpen();
    return this.#mutex.run(() =>
      verifyPacks(this.#index, (rec) => this.#readRecord(rec), this.loadReport.quarantined, options),
    );
  }

  /** Ends open sessions (discarding unflushed chunks) and closes read handles. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#recent.clear();
    await Promise.all([...this.#sessions].map((s) => s.end()));
    await this.#putChain;
    await this.#mutex.run(() => this.#fds.closeAll());
  }

  async #writeBatch(items: readonly ChunkToPut[]): Promise<void> {
    const session = this.beginIngest();
    try {
      for (const c of items) await session.addChunk(c.id, c.bytes);
      await session.flush();
    } finally {
      await session.end();
    }
  }

  async #readRecord(rec: ChunkRecord): Promise<Buffer> {
    const lease = await this.#fds.acquire(rec.pack.packPath);
    try {
      const buf = Buffer.allocUnsafe(rec.length);
      let done = 0;
      while (done < rec.length) {
        const { bytesRead } = await lease.handle.read(buf, done, rec.length - done, rec.offset + done);
        if (bytesRead === 0) {
          throw new SitecastError(
            'CORRUPT_DATA',
            `pack ${rec.pack.packPath} ends before chunk ${rec.id} (offset ${rec.offset}, ${rec.length} bytes)`,
            { id: rec.id, path: rec.pack.packPath },
          );
        }
        done += bytesRead;
      }
      return buf;
    } finally {
      lease.release();
    }
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new SitecastError('FAILED', `content library ${this.root} is closed`, { path: this.root });
    }
  }
}

/** Verified chunk buffers, least recently used dropped first once their bytes pass `maxBytes`. */
class RecentChunks {
  readonly #chunks = new Map<ChunkId, Buffer>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(id: ChunkId): Buffer | undefined {
    const bytes = this.#chunks.get(id);
    if (bytes) {
      this.#chunks.delete(id);
      this.#chunks.set(id, bytes);
    }
    return bytes;
  }

  add(id: ChunkId, bytes: Buffer): void {
    if (bytes.length > this.maxBytes || this.#chunks.has(id)) return;
    this.#chunks.set(id, bytes);
    this.#bytes += bytes.length;
    for (const [oldest, b] of this.#chunks) {
      if (this.#bytes <= this.maxBytes) break;
      this.#chunks.delete(oldest);
      this.#bytes -= b.length;
    }
  }

  clear(): void {
    this.#chunks.clear();
    this.#bytes = 0;
  }
}

function readError(e: unknown, rec: ChunkRecord): SitecastError {
  if (e instanceof SitecastError) return e;
  if (isErrno(e, 'ENOENT')) {
    return new SitecastError('CORRUPT_DATA', `pack ${rec.pack.packPath} holding chunk ${rec.id} is missing`, {
      id: rec.id,
      path: rec.pack.packPath,
    });
  }
  return storeIoError(e, `reading chunk ${rec.id} from ${rec.pack.packPath}`);
}
