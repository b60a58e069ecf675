/**
 * Parallel chunking of one file with the boundaries of sequential chunking.
 *
 * FastCDC is a chain: the next cut depends only on the bytes after the current cut. The file is split into
 * segments [s_i, e_i); the worker for segment i starts a chain with a forced cut at s_i and follows it while
 * the chunk start is before e_i. Segment 0's chain is the true one. Walking the segments in order, the
 * reader holds the true position t (the last true cut): a worker chunk starting at t is adopted; when a
 * segment's chain does not contain t, the reader cuts true chunks itself from t until t lands on a cut of
 * that chain (they coincide from there on, usually within one or two chunks). If they have not met after
 * an eighth of a segment (long zero runs can keep two chains apart forever), the rest of the segment is
 * resubmitted to a worker starting at t, whose chain is then the true one.
 *
 * Forced cuts (segment-plan.ts) end one chain and start the next, as if each region were a file: segments
 * then never span a cut, and a chain's data ends at its region's end.
 */
import { hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { SitecastError } from '../kernel/index.js';
import { cutLength, type Chunker } from './fastcdc.js';
import { cancelledError, fsError, readError } from './read-error.js';
import { PENDING, type FileChunk, type SegmentStream } from './segment-stream.js';
import { NO_FORCED_CUTS, planSegments, type ForcedCuts } from './segment-plan.js';

/** Tasks submitted ahead of the segment being consumed, at most (each holds a small stream object). */
const maxTasksAhead = 256;

export interface SegmentRunner {
  readonly chunker: Chunker;
  readonly segmentBytes: number;
  /** Segments submitted ahead of the one being read. */
  readonly lookahead: number;
  /** `whole`: the chain is one chunk, [start, fileSize) (a region no longer than the maximum chunk). */
  submit(
    path: string,
    start: number,
    end: number,
    fileSize: number,
    urgent: boolean,
    whole?: boolean,
  ): SegmentStream;
  /** Counters of the stitching work, for benchmarks and tests. */
  readonly stats: StitchStats;
}

export interface StitchStats {
  /** Chunks the reader cut itself to resynchronise at segment starts. */
  readerChunks: number;
  readerBytes: number;
  /** Segment tails resubmitted to a worker because the chains did not meet soon enough. */
  resubmits: number;
}

export async function* chunkFileInSegments(
  runner: SegmentRunner,
  path: string,
  size: number,
  signal: AbortSignal | undefined,
  /** Forced cuts: chains restart at each, as if each region were a file; some regions whole (segment-plan.ts). */
  forced: ForcedCuts = NO_FORCED_CUTS,
): AsyncGenerator<FileChunk> {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new SitecastError('INVALID_PARAMETER', `file size of ${path} must be a non-negative integer`, {
      field: 'size',
      path,
    });
  }
  if (signal?.aborted) throw cancelledError(path);
  if (size === 0) return;
  const segBytes = runner.segmentBytes;
  // A whole region longer than the maximum chunk would be cut at the maximum by the workers.
  const wholeMaxBytes = Math.min(forced.wholeMaxBytes, runner.chunker.maxSize);
  const plan = planSegments(size, segBytes, { ...forced, wholeMaxBytes });
  const segments = plan.length;
  const streams = new Map<number, SegmentStream>();
  let submitted = 0;
  const onAbort = (): void => {
    for (const s of streams.values()) s.fail(cancelledError(path));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const reader = new ReaderChunker(path, size, runner.chunker);
  // Bytes the reader may cut itself per segment before handing the rest back to a worker.
  const readerLimit = Math.max(runner.chunker.maxSize, Math.floor(segBytes / 8));
  try {
    let t = 0;
    // Work ahead by tasks and by bytes: small regions between forced cuts (a WIM's resources) make many
    // small tasks, and `lookahead` of them alone would leave the workers idle between round trips.
    const aheadBytes = runner.lookahead * segBytes;
    const ahead = (i: number): boolean =>
      submitted <= i + runner.lookahead ||
      (submitted - i <= maxTasksAhead && plan[submitted]!.start - plan[i]!.start < aheadBytes);
    for (let i = 0; i < segments; i++) {
      for (; submitted < segments && ahead(i); submitted++) {
        const p = plan[submitted]!;
        streams.set(submitted, runner.submit(path, p.start, p.end, p.dataEnd, false, p.whole));
      }
      let stream = streams.get(i)!;
      const { end: segEnd, dataEnd, whole } = plan[i]!;
      let readerBytes = 0;
      while (t < segEnd) {
        let c = stream.poll();
        while (c === PENDING) {
          await stream.wait();
          c = stream.poll();
        }
        if (c !== undefined && c.offset < t) continue;
        const target = c === undefined ? segEnd : c.offset;
        while (t < target && readerBytes < readerLimit) {
          if (signal?.aborted) throw cancelledError(path);
          const own = await reader.chunkAt(t, dataEnd, whole);
          readerBytes += own.size;
          runner.stats.readerChunks++;
          runner.stats.readerBytes += own.size;
          t += own.size;
          yield own;
        }
        if (t < target) {
          stream.close();
          runner.stats.resubmits++;
          stream = runner.submit(path, t, segEnd, dataEnd, true, whole);
          streams.set(i, stream);
          readerBytes = 0;
          if (signal?.aborted) stream.fail(cancelledError(path));
          continue;
        }
        if (c !== undefined && c.offset === t) {
          t += c.size;
          yield c;
        }
      }
      // The consumer asked for more after the last chunk it got: it holds none of this segment's bytes.
      stream.close();
      streams.delete(i);
    }
    if (t !== size) {
      throw new SitecastError('FAILED', `chunking ${path} ended at ${t} of ${size} bytes`, { path });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const s of streams.values()) s.release();
    await reader.close();
  }
}

/** Cuts true chunks on the reader's thread, straight from the file. */
class ReaderChunker {
  #fh: FileHandle | undefined;

  constructor(
    readonly path: string,
    readonly size: number,
    readonly chunker: Chunker,
  ) {}

  /**
   * The chunk at `offset` of a chain whose data ends at `dataEnd` (the file's end or a forced cut); with
   * `whole`, the chunk is [offset, dataEnd) (no longer than the maximum chunk).
   */
  async chunkAt(offset: number, dataEnd: number = this.size, whole = false): Promise<FileChunk> {
    try {
      this.#fh ??= await open(this.path, 'r');
      const need = Math.min(this.chunker.maxSize, dataEnd - offset);
      const buf = new Uint8Array(need);
      let got = 0;
      while (got < need) {
        const { bytesRead } = await this.#fh.read(buf, got, need - got, offset + got);
        if (bytesRead === 0) {
          throw readError('SHORT_READ', `file ended at ${offset + got}, before ${this.size}`, this.path);
        }
        got += bytesRead;
      }
      const size = whole ? need : cutLength(buf, 0, need, this.chunker);
      const bytes = buf.subarray(0, size);
      return { offset, size, id: hash('sha256', bytes, 'hex'), bytes };
    } catch (e) {
      throw fsError(e, this.path);
    }
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }
}
