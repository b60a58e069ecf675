/**
 * A pool of worker threads that chunk (FastCDC) and hash (SHA-256) files. Files are split into segments
 * handled by different workers and stitched so the result equals sequential chunking (see chunk-file.ts).
 * Memory is bounded: segments are dispatched only while the bytes of dispatched-but-unconsumed segments
 * stay under `maxBytesInFlight`.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SitecastError } from '../kernel/index.js';
import { chunkFileInSegments, type SegmentRunner, type StitchStats } from './chunk-file.js';
import type { FilesTask, FromWorker, SegmentTask, ToWorker, WorkerConfig } from './chunk-protocol.js';
import { createChunker, DEFAULT_CHUNKING, type Chunker, type ChunkingParams } from './fastcdc.js';
import { blockBuffer, createBlockMemory } from './gear-wasm.js';
import { FilesStream, type WholeFile, type WholeFileProblem } from './files-stream.js';
import { cancelledError, readError } from './read-error.js';
import { PENDING, SegmentStream, type ChunkRun, type FileChunk } from './segment-stream.js';
import type { ForcedCuts } from './segment-plan.js';

export interface ChunkerPoolOptions {
  /** Worker threads; default min(2, availableParallelism()). */
  readonly threads?: number;
  /** Bytes of a file one worker task covers; default 32 MiB. */
  readonly segmentBytes?: number;
  /** Bytes read per worker block (one reusable shared buffer each); default 4 MiB. */
  readonly blockBytes?: number;
  /** Cap on dispatched-but-unconsumed segment bytes; default (threads + 1) × segmentBytes. */
  readonly maxBytesInFlight?: number;
  /** Chunk sizes; default 16/64/256 KiB. Never change them for an existing content library. */
  readonly chunking?: ChunkingParams;
  /** Another worker script (tests use one that crashes); default chunk-worker next to this module. */
  readonly workerScript?: URL;
}

export interface ChunkerPoolStats extends StitchStats {
  /** Batches of chunks received from workers. */
  batches: number;
  /** Batches in a fresh buffer because the worker had no free shared block (should stay near 0). */
  unsharedBatches: number;
}

/** Tasks a worker may have queued at once, so it never waits for the next message between small files. */
const MAX_TASKS_PER_WORKER = 3;

interface Slot {
  readonly worker: Worker;
  readonly blocks: readonly SharedArrayBuffer[];
  readonly tasks: Set<number>;
  alive: boolean;
}

type Task = SegmentJob | FilesJob;

interface SegmentJob extends TaskState {
  readonly message: SegmentTask;
  readonly stream: SegmentStream;
}

interface FilesJob extends TaskState {
  readonly message: FilesTask;
  readonly stream: FilesStream;
}

interface TaskState {
  /** What to name in an error: the file, or the first of the files. */
  readonly label: string;
  readonly bytes: number;
  readonly urgent: boolean;
  state: 'queued' | 'running' | 'finished';
  slot: Slot | undefined;
  /** True while its bytes count against the in-flight budget (from dispatch until the reader lets go). */
  budgeted: boolean;
  /** The reader is done with it; it is forgotten as soon as it is also finished. */
  released: boolean;
}

export class ChunkerPool implements SegmentRunner {
  readonly threads: number;
  readonly segmentBytes: number;
  readonly lookahead: number;
  readonly chunker: Chunker;
  /** Counters since the pool was created, for benchmarks and tests. */
  readonly stats: ChunkerPoolStats = {
    readerChunks: 0,
    readerBytes: 0,
    resubmits: 0,
    batches: 0,
    unsharedBatches: 0,
  };
  readonly #maxBytesInFlight: number;
  readonly #config: WorkerConfig;
  readonly #launch: WorkerLaunch;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  readonly #tasks = new Map<number, Task>();
  readonly #exits: Promise<unknown>[] = [];
  #inFlight = 0;
  /** Shared block buffers per worker. */
  readonly #blocksPerWorker: number;
  readonly #blockSize: number;
  #nextTaskId = 1;
  #closed = false;

  constructor(options: ChunkerPoolOptions = {}) {
    this.threads = positiveInt(options.threads ?? Math.min(2, availableParallelism()), 'threads');
    this.chunker = createChunker(options.chunking ?? DEFAULT_CHUNKING);
    // 16 MiB segments: enough work per hand-off, while the blocks that back (threads + 1) of them stay small.
    this.segmentBytes = positiveInt(options.segmentBytes ?? 16 * 1024 * 1024, 'segmentBytes');
    if (this.segmentBytes < this.chunker.maxSize) {
      throw new SitecastError('INVALID_PARAMETER', 'segmentBytes must be at least the maximum chunk size', {
        field: 'segmentBytes',
      });
    }
    const blockBytes = positiveInt(options.blockBytes ?? 4 * 1024 * 1024, 'blockBytes');
    this.#maxBytesInFlight = positiveInt(
      options.maxBytesInFlight ?? (this.threads + 1) * this.segmentBytes,
      'maxBytesInFlight',
    );
    this.lookahead = this.threads * 2;
    this.#blockSize = blockBytes + this.chunker.maxSize;
    // Each worker's share of the in-flight budget, plus two. When the store's disk is slower than chunking,
    // every block ends up touched, so this is what bounds memory (measured: 4 GiB snapshot peak RSS 340 MB
    // with the whole budget per worker, 295 MB with a share). A worker out of blocks transfers a fresh buffer.
    this.#blocksPerWorker = Math.min(64, Math.ceil(this.#maxBytesInFlight / this.threads / blockBytes) + 2);
    this.#config = { chunking: options.chunking ?? DEFAULT_CHUNKING, blockBytes, blocks: [] };
    this.#launch = workerLaunch(options.workerScript ?? defaultWorkerScript());
  }

  /**
   * The chunks of the file at `path` (of `size` bytes, from a stat just taken), in order, each with its
   * SHA-256 id and its bytes. Boundaries are exactly those of sequential FastCDC over the whole file.
   * A chunk's `bytes` are valid until the next chunk is requested (their buffer is then reused): copy them
   * to keep them. Fails with SOURCE_CHANGING when the file gets shorter while read, CANCELLED on abort.
   * `cuts`: forced boundaries (ascending, inside the file), each starting a fresh chain, and the regions
   * between them kept whole (segment-plan.ts, wim-boundaries.ts).
   */
  chunkFile(
    path: string,
    size: number,
    options: { signal?: AbortSignal; cuts?: ForcedCuts } = {},
  ): AsyncGenerator<FileChunk> {
    if (this.#closed) throw new SitecastError('CANCELLED', 'the chunker pool is closed');
    return chunkFileInSegments(this, path, size, options.signal, options.cuts);
  }

  /** Threads currently running (0 after close()). */
  get liveThreads(): number {
    return this.#slots.filter((s) => s.alive).length;
  }

  /**
   * Reads, chunks and hashes whole files (small ones: each must fit a worker block, ~blockBytes) on one
   * worker, `attempts` reads each until one is unchanged from start to end (see FilesTask). Yields each file
   * as it comes, in `paths` order, or the problem that stopped it; `bytes` (the listed sizes' sum) counts
   * against the in-flight budget. A chunk's bytes are valid until the next file is requested.
   */
  async *chunkFiles(
    paths: readonly string[],
    bytes: number,
    options: { attempts: number; signal?: AbortSignal },
  ): AsyncGenerator<WholeFile | WholeFileProblem> {
    if (this.#closed) throw new SitecastError('CANCELLED', 'the chunker pool is closed');
    const label = paths.length === 1 ? paths[0]! : `${paths[0]} and ${paths.length - 1} more files`;
    const { signal } = options;
    if (signal?.aborted) throw cancelledError(label);
    const taskId = this.#nextTaskId++;
    const stream = new FilesStream(() => this.#release(taskId));
    const message: FilesTask = { type: 'files', taskId, paths, bytes, attempts: options.attempts };
    this.#enqueue({ message, stream, ...this.#fresh(label, bytes, false) });
    const onAbort = (): void => stream.fail(cancelledError(label));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        let f = stream.poll();
        while (f === PENDING) {
          await stream.wait();
          f = stream.poll();
        }
        if (f === undefined) return;
        yield f;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stream.release();
    }
  }

  /** Queues a segment task; `urgent` tasks go first and ignore the budget (a reader is blocked on them). */
  submit(
    path: string,
    start: number,
    end: number,
    fileSize: number,
    urgent: boolean,
    whole = false,
  ): SegmentStream {
    const taskId = this.#nextTaskId++;
    const stream = new SegmentStream(() => this.#release(taskId));
    const message: SegmentTask = { type: 'task', taskId, path, start, end, fileSize, whole };
    this.#enqueue({ message, stream, ...this.#fresh(path, end - start, urgent) });
    return stream;
  }

  #fresh(label: string, bytes: number, urgent: boolean): TaskState {
    return { label, bytes, urgent, state: 'queued', slot: undefined, budgeted: false, released: false };
  }

  #enqueue(task: Task): void {
    if (this.#closed) {
      task.stream.fail(new SitecastError('CANCELLED', 'the chunker pool is closed'));
      return;
    }
    this.#tasks.set(task.message.taskId, task);
    if (task.urgent) this.#queue.unshift(task);
    else this.#queue.push(task);
    this.#dispatch();
  }

  /** Terminates the workers; pending reads fail with CANCELLED. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#queue.length = 0;
      for (const task of [...this.#tasks.values()]) {
        task.stream.fail(new SitecastError('CANCELLED', 'the chunker pool was closed during the read'));
      }
      for (const slot of this.#slots) void slot.worker.terminate();
    }
    await Promise.all(this.#exits);
  }

  #release(taskId: number): void {
    const task = this.#tasks.get(taskId);
    if (!task || task.released) return;
    task.released = true;
    if (task.budgeted) {
      this.#inFlight -= task.bytes;
      task.budgeted = false;
    }
    if (task.state === 'queued') {
      const i = this.#queue.indexOf(task);
      if (i >= 0) this.#queue.splice(i, 1);
      this.#tasks.delete(taskId);
    } else if (task.state === 'running') {
      // Its results are no longer wanted; the worker skips the rest and reports done.
      task.slot?.worker.postMessage({ type: 'cancel', taskId } satisfies ToWorker);
    } else {
      this.#tasks.delete(taskId);
    }
    this.#dispatch();
  }

  #giveBack(slot: Slot, block: number): void {
    if (slot.alive && !this.#closed) slot.worker.postMessage({ type: 'recycle', block } satisfies ToWorker);
  }

  #finish(task: Task): void {
    task.state = 'finished';
    task.slot?.tasks.delete(task.message.taskId);
    if (task.released) this.#tasks.delete(task.message.taskId);
  }

  #dispatch(): void {
    while (!this.#closed && this.#queue.length > 0) {
      const task = this.#queue[0]!;
      const overBudget = this.#inFlight > 0 && this.#inFlight + task.bytes > this.#maxBytesInFlight;
      // An urgent task passes anyway: a reader is blocked on it, and it replaces budget just released.
      if (overBudget && !task.urgent) return;
      const slot = this.#freeSlot();
      if (!slot) return;
      this.#queue.shift();
      task.state = 'running';
      task.slot = slot;
      task.budgeted = true;
      this.#inFlight += task.bytes;
      slot.tasks.add(task.message.taskId);
      slot.worker.ref();
      slot.worker.postMessage(task.message satisfies ToWorker);
    }
  }

  #freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (s.alive && s.tasks.size < MAX_TASKS_PER_WORKER && (!best || s.tasks.size < best.tasks.size))
        best = s;
    }
    if (best && best.tasks.size === 0) return best;
    if (this.#slots.filter((s) => s.alive).length < this.threads) return this.#spawn();
    return best;
  }

  #spawn(): Slot {
    const memories = Array.from({ length: this.#blocksPerWorker }, () => createBlockMemory(this.#blockSize));
    const blocks = memories.map(blockBuffer);
    const worker = new Worker(this.#launch.script, {
      eval: this.#launch.eval,
      workerData: { ...this.#config, blocks: memories } satisfies WorkerConfig,
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, blocks, tasks: new Set(), alive: true };
    this.#slots.push(slot);
    this.#exits.push(new Promise((resolve) => worker.once('exit', resolve)));
    worker.on('message', (m: FromWorker) => this.#onMessage(slot, m));
    worker.on('error', (e) => this.#onCrash(slot, `chunk worker failed: ${e.message}`));
    worker.on('messageerror', (e) => this.#onCrash(slot, `chunk worker sent a bad message: ${e.message}`));
    worker.on('exit', (code) => this.#onCrash(slot, `chunk worker exited unexpectedly (code ${code})`));
    return slot;
  }

  #onMessage(slot: Slot, m: FromWorker): void {
    const task = this.#tasks.get(m.taskId);
    if (m.type === 'files') {
      const shared = m.block >= 0;
      const giveBack = shared ? () => this.#giveBack(slot, m.block) : undefined;
      if (task?.message.type !== 'files') return giveBack?.();
      this.stats.batches++;
      if (!shared && m.buffer) this.stats.unsharedBatches++;
      (task.stream as FilesStream).push(
        m,
        shared ? slot.blocks[m.block]! : (m.buffer ?? undefined),
        giveBack,
      );
      return;
    }
    if (m.type === 'batch') {
      if (task?.message.type !== 'task') return;
      const shared = m.block >= 0;
      this.stats.batches++;
      if (!shared) this.stats.unsharedBatches++;
      const run: ChunkRun = {
        backing: shared ? slot.blocks[m.block]! : m.buffer!,
        fileOffset: m.bufferFileOffset,
        starts: m.starts,
        sizes: m.sizes,
        ids: m.ids,
      };
      (task.stream as SegmentStream).push(run, shared ? () => this.#giveBack(slot, m.block) : undefined);
      return;
    }
    slot.tasks.delete(m.taskId);
    if (slot.tasks.size === 0) slot.worker.unref();
    if (task) {
      this.#finish(task);
      if (m.type === 'done') task.stream.end();
      else task.stream.fail(readError(m.code, m.message, task.label));
    }
    this.#dispatch();
  }

  #onCrash(slot: Slot, message: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    if (this.#closed) return;
    void slot.worker.terminate();
    for (const taskId of [...slot.tasks]) {
      const task = this.#tasks.get(taskId);
      if (task) this.#finish(task);
      task?.stream.fail(
        new SitecastError('FAILED', `${message} while reading ${task.label}`, { path: task.label }),
      );
    }
    slot.tasks.clear();
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    this.#dispatch();
  }
}

interface WorkerLaunch {
  /** A module URL, or CommonJS source to evaluate. */
  readonly script: URL | string;
  readonly eval: boolean;
}

/**
 * From dist/ the worker is the compiled chunk-worker.js next to this module. From src/ (vitest, tsx) it is
 * the .ts file, and worker threads get neither vitest's transform nor, on Node 20, the ESM hooks of
 * `--import tsx` (they do not reach a worker's entry module); tsx's CommonJS require hook does, so a
 * two-line CommonJS bootstrap installs it and requires the .ts file. tsx is a dev dependency, as is src/.
 */
function workerLaunch(script: URL): WorkerLaunch {
  if (!script.pathname.endsWith('.ts')) return { script, eval: false };
  const tsxCjs = createRequire(import.meta.url).resolve('tsx/cjs');
  const source = `require(${JSON.stringify(tsxCjs)});\nrequire(${JSON.stringify(fileURLToPath(script))});\n`;
  return { script: source, eval: true };
}

function defaultWorkerScript(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './chunk-worker.ts' : './chunk-worker.js', import.meta.url);
}

function positiveInt(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new SitecastError('INVALID_PARAMETER', `chunker pool ${field} must be a positive integer`, {
      field,
    });
  }
  return v;
}
