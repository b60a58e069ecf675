/**
 * One ingest session of a pack store (what a snapshot writes into). Chunks go into the session's own open
 * pack; a full pack is sealed in the background while the next one fills; flush() seals what is open.
 * Every chunk the session found (hasChunk) or added is pinned until end(), so a concurrent GC keeps it.
 * end() without flush() discards unflushed chunks: an aborted snapshot leaves nothing behind.
 */
import { SitecastError } from '../kernel/index.js';
import { storeIoError } from './durable-file.js';
import { assertChunkId } from './pack-format.js';
import type { PackIndex } from './pack-index.js';
import type { PackWriter, SealedPack } from './pack-writer.js';
import type { ChunkId, IngestSink } from './types.js';

/** What a session needs from its store. */
export interface IngestHost {
  readonly index: PackIndex;
  /** Size at which an open pack is sealed and a new one started. */
  readonly packBytes: number;
  createWriter(): Promise<PackWriter>;
  /** Makes a sealed pack's chunks visible to has/get. */
  registerSealed(sealed: SealedPack): void;
  sessionEnded(session: PackIngestSession): void;
}

export class PackIngestSession implements IngestSink {
  readonly #host: IngestHost;
  readonly #pinned = new Set<ChunkId>();
  #writer: PackWriter | null = null;
  #sealing: Promise<void> | null = null;
  #queue: Promise<void> = Promise.resolve();
  #failure: SitecastError | null = null;
  #ended = false;

  constructor(host: IngestHost) {
    this.#host = host;
  }

  /** Ids this session pins (found or added); GC keeps them while the session is open. */
  get pinnedCount(): number {
    return this.#pinned.size;
  }

  hasChunk(id: ChunkId): boolean {
    if (this.#ended) throw ended();
    if (this.#pinned.has(id)) return true;
    if (!this.#host.index.has(id)) return false;
    this.#pin(id);
    return true;
  }

  addChunk(id: ChunkId, bytes: Uint8Array): Promise<void> {
    assertChunkId(id);
    return this.#enqueue(async () => {
      if (this.#pinned.has(id)) return;
      this.#pin(id);
      if (this.#host.index.has(id)) return;
      this.#writer ??= await this.#host.createWriter();
      await this.#writer.append(id, bytes);
      if (this.#writer.size >= this.#host.packBytes) await this.#rollover();
    });
  }

  flush(): Promise<void> {
    return this.#enqueue(async () => {
      const writer = this.#writer;
      this.#writer = null;
      await this.#awaitSealing();
      if (writer && writer.chunkCount > 0) this.#host.registerSealed(await writer.seal());
      else await writer?.discard();
    });
  }

  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#queue;
    try {
      await this.#sealing;
    } catch {
      // A failed background seal has already removed its files; end() only releases.
    }
    await this.#writer?.discard();
    this.#writer = null;
    for (const id of this.#pinned) this.#host.index.unpin(id);
    this.#pinned.clear();
    this.#host.sessionEnded(this);
  }

  #pin(id: ChunkId): void {
    this.#pinned.add(id);
    this.#host.index.pin(id);
  }

  /** Seals the full pack in the background; at most one seal runs while the next pack fills. */
  async #rollover(): Promise<void> {
    const writer = this.#writer as PackWriter;
    this.#writer = null;
    await this.#awaitSealing();
    const sealing = writer.seal().then((sealed) => this.#host.registerSealed(sealed));
    // Marks the rejection handled; the error still surfaces when the next flush or rollover awaits it.
    sealing.catch(() => undefined);
    this.#sealing = sealing;
  }

  async #awaitSealing(): Promise<void> {
    const sealing = this.#sealing;
    this.#sealing = null;
    await sealing;
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#ended) throw ended();
      if (this.#failure) throw this.#failure;
      try {
        await fn();
      } catch (e) {
        this.#failure = storeIoError(e, 'ingest session');
        // Nothing half-written may stay: drop the open pack's temp file now, not at end().
        const writer = this.#writer;
        this.#writer = null;
        await writer?.discard();
        throw this.#failure;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function ended(): SitecastError {
  return new SitecastError('FAILED', 'ingest session has already ended', { field: 'session' });
}
