/**
 * The files of one whole-files task as they arrive from a worker, consumed in order by one reader. Like
 * SegmentStream: it holds the task's share of the in-flight budget until released, and a batch's buffer
 * goes back to its worker on the poll() after its last file was handed out (the reader is then done with
 * that file's chunk bytes).
 */
import type { SitecastError } from '../kernel/index.js';
import type { FileDigest, FileProblem, FilesBatch } from './chunk-protocol.js';
import { PENDING, type FileChunk } from './segment-stream.js';

/** A file read whole and unchanged, with its chunks (bytes valid until the next poll()). */
export interface WholeFile {
  /** Index in the paths given to the pool. */
  readonly index: number;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly chunks: readonly FileChunk[];
}

/** A file the worker did not read; see FileProblem in chunk-protocol.ts. */
export type WholeFileProblem = FileProblem;

interface Batch {
  readonly files: readonly (FileDigest | FileProblem)[];
  readonly backing: ArrayBufferLike | undefined;
  readonly giveBack: (() => void) | undefined;
  next: number;
}

export class FilesStream {
  readonly #batches: Batch[] = [];
  #ended = false;
  #error: SitecastError | undefined;
  #wake: (() => void) | undefined;
  #released = false;
  #lent: (() => void) | undefined;
  readonly #onRelease: () => void;

  constructor(onRelease: () => void) {
    this.#onRelease = onRelease;
  }

  /** Called by the pool: a batch arrived, its bytes in `backing`; `giveBack` returns that to the worker. */
  push(batch: FilesBatch, backing: ArrayBufferLike | undefined, giveBack?: () => void): void {
    if (this.#released || this.#ended || batch.files.length === 0) {
      giveBack?.();
      return;
    }
    this.#batches.push({ files: batch.files, backing, giveBack, next: 0 });
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  fail(error: SitecastError): void {
    if (this.#ended && this.#error === undefined && this.#batches.length === 0) return;
    this.#error ??= error;
    this.#ended = true;
    this.#dropBatches();
    this.#notify();
  }

  /** The next file, undefined at the end, or PENDING (then await wait()). */
  poll(): WholeFile | WholeFileProblem | undefined | typeof PENDING {
    const lent = this.#lent;
    this.#lent = undefined;
    lent?.();
    if (this.#error) {
      this.release();
      throw this.#error;
    }
    const batch = this.#batches[0];
    if (batch) {
      const f = batch.files[batch.next++]!;
      if (batch.next === batch.files.length) {
        this.#batches.shift();
        this.#lent = batch.giveBack;
      }
      if ('problem' in f) return f;
      const chunks: FileChunk[] = [];
      for (let i = 0, at = 0; i < f.sizes.length; i++) {
        const size = f.sizes[i]!;
        chunks.push({
          offset: at,
          size,
          id: f.ids[i]!,
          bytes: new Uint8Array(batch.backing!, f.offset + at, size),
        });
        at += size;
      }
      return { index: f.index, size: f.size, mode: f.mode, mtimeMs: f.mtimeMs, chunks };
    }
    if (this.#ended) {
      this.release();
      return undefined;
    }
    return PENDING;
  }

  wait(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  /** Drops buffered files and gives the budget back; the buffer of a file the reader may hold is left to the GC. */
  release(): void {
    this.#lent = undefined;
    this.#dropBatches();
    if (this.#released) return;
    this.#released = true;
    this.#onRelease();
  }

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
