/**
 * The chunks of one segment task as they arrive from a worker, consumed in order by one reader.
 * Holds the task's share of the pool's in-flight byte budget until it is drained or discarded.
 *
 * Buffers go back to the workers for reuse (see chunk-worker.ts): a batch's buffer is given back on the
 * next() call after its last chunk was handed out, as the reader is done with a chunk's bytes when it asks
 * for the next one. Batches never handed out are given back on release; a partly read one never is.
 */
import type { SitecastError } from '../kernel/index.js';
import type { ChunkId } from './types.js';

/** A chunk of a file, with its bytes (a view into a buffer transferred from a worker or read by main). */
export interface FileChunk {
  /** Offset of the chunk in the file. */
  readonly offset: number;
  readonly size: number;
  readonly id: ChunkId;
  readonly bytes: Uint8Array;
}

/** Consecutive chunks whose bytes are in `backing` (FileChunk objects are made on demand: fewer survive). */
export interface ChunkRun {
  readonly backing: ArrayBufferLike;
  /** File offset of backing byte 0. */
  readonly fileOffset: number;
  readonly starts: readonly number[];
  readonly sizes: readonly number[];
  readonly ids: readonly ChunkId[];
}

interface Batch {
  readonly run: ChunkRun;
  /** Gives the batch's buffer back to its worker; undefined for a buffer left to the GC. */
  readonly giveBack: (() => void) | undefined;
  next: number;
}

export const PENDING: unique symbol = Symbol('pending');

export class SegmentStream {
  readonly #batches: Batch[] = [];
  #ended = false;
  #error: SitecastError | undefined;
  #wake: (() => void) | undefined;
  #released = false;
  /** Gives back the buffer of the batch whose last chunk the reader holds. */
  #lent: (() => void) | undefined;
  readonly #onRelease: () => void;

  constructor(onRelease: () => void) {
    this.#onRelease = onRelease;
  }

  /** Called by the pool: a batch arrived; `giveBack` returns its buffer to the worker. */
  push(run: ChunkRun, giveBack?: () => void): void {
    if (this.#released || this.#ended || run.ids.length === 0) {
      giveBack?.();
      return;
    }
    this.#batches.push({ run, giveBack, next: 0 });
    this.#notify();
  }

  /** Called by the pool: the task finished. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** Called by the pool (or the reader on abort): the task failed; a waiting or later read rejects. */
  fail(error: SitecastError): void {
    if (this.#ended && this.#error === undefined && this.#batches.length === 0) return;
    this.#error ??= error;
    this.#ended = true;
    this.#dropBatches();
    this.#notify();
  }

  /**
   * The next chunk in chain order, undefined at the end of the segment, or PENDING when the worker has not
   * sent it yet (then await wait()). Synchronous so the common case costs no promise.
   */
  poll(): FileChunk | undefined | typeof PENDING {
    const lent = this.#lent;
    this.#lent = undefined;
    lent?.();
    if (this.#error) {
      this.release();
      throw this.#error;
    }
    const batch = this.#batches[0];
    if (batch) {
      const { run } = batch;
      const i = batch.next++;
      const start = run.starts[i]!;
      const size = run.sizes[i]!;
      if (batch.next === run.ids.length) {
        this.#batches.shift();
        this.#lent = batch.giveBack;
      }
      return {
        offset: run.fileOffset + start,
        size,
        id: run.ids[i]!,
        bytes: new Uint8Array(run.backing, start, size),
      };
    }
    if (this.#ended) {
      this.release();
      return undefined;
    }
    return PENDING;
  }

  /** Resolves when poll() may have something new. */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  /**
   * The reader is done with this segment and with every chunk it got (it asks for no more): all buffers go
   * back to the worker, then the budget. Use release() instead when the reader may still hold a chunk.
   */
  close(): void {
    const lent = this.#lent;
    this.#lent = undefined;
    lent?.();
    for (const b of this.#batches) b.giveBack?.();
    this.#batches.length = 0;
    this.release();
  }

  /** Drops buffered chunks and gives the budget back; later pushes are ignored. Idempotent. */
  release(): void {
    // The reader may still hold the last chunk it got (it can stop early): that buffer is left to the GC.
    this.#lent = undefined;
    this.#dropBatches();
    if (this.#released) return;
    this.#released = true;
    this.#onRelease();
  }

  /** Recycles the batches the reader never saw; a partly read one is left to the GC. */
  #dropBatches(): void {
    for (const b of this.#batches) if (b.next === 0) b.giveBack?.();
    this.#batches.length = 0;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
