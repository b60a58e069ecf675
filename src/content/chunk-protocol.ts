/** Messages between the chunker pool (main thread) and its chunk workers. */
import type { ChunkingParams } from './fastcdc.js';
import type { BlockMemory } from './gear-wasm.js';

export interface WorkerConfig {
  readonly chunking: ChunkingParams;
  /** Bytes read per block; a batch of chunks goes back to the main thread after each block. */
  readonly blockBytes: number;
  /**
   * Reusable blocks of blockBytes + maxSize bytes, shared with the main thread: each a shared
   * WebAssembly.Memory (see gear-wasm.ts) so the worker cuts chunks in it without a copy, or a plain
   * SharedArrayBuffer where no such memory could be had.
   */
  readonly blocks: readonly (BlockMemory | SharedArrayBuffer)[];
}

/**
 * Chunk and hash the chain of chunks that starts with a (forced) cut at `start` and continues while the
 * chunk start is before `end`; the last chunk may run past `end` (up to `maxSize`), never past `fileSize`.
 */
export interface SegmentTask {
  readonly type: 'task';
  readonly taskId: number;
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly fileSize: number;
  /** The chain is one chunk, [start, fileSize): a whole region no longer than the maximum chunk. */
  readonly whole?: boolean;
}

export interface CancelMessage {
  readonly type: 'cancel';
  readonly taskId: number;
}

/** A shared block the main thread is done with, for the worker to fill again. */
export interface RecycleMessage {
  readonly type: 'recycle';
  readonly block: number;
}

/**
 * Read, chunk and hash whole (small) files, each from its start. A file counts as read only when an fstat
 * of the open handle before and after the read and a stat of its path after agree (size, mtime, ctime,
 * inode, device); otherwise it is read again, up to `attempts` times.
 */
export interface FilesTask {
  readonly type: 'files';
  readonly taskId: number;
  readonly paths: readonly string[];
  /** Sum of the files' listed sizes: how much buffer to take. */
  readonly bytes: number;
  readonly attempts: number;
}

export type ToWorker = SegmentTask | FilesTask | CancelMessage | RecycleMessage;

/** Consecutive chunks of one task; their bytes are in shared block `block`, or in `buffer` when -1. */
export interface ChunkBatch {
  readonly type: 'batch';
  readonly taskId: number;
  readonly block: number;
  /** A fresh buffer, transferred (not copied), when no shared block was free. */
  readonly buffer: ArrayBuffer | null;
  /** File offset of byte 0 of the block or buffer. */
  readonly bufferFileOffset: number;
  /** Offsets of each chunk inside `buffer`. */
  readonly starts: readonly number[];
  readonly sizes: readonly number[];
  /** Lowercase hex SHA-256 of each chunk. */
  readonly ids: readonly string[];
}

export interface TaskDone {
  readonly type: 'done';
  readonly taskId: number;
}

export interface TaskFailed {
  readonly type: 'failed';
  readonly taskId: number;
  /** errno code (ENOENT, EACCES, …), 'SHORT_READ' when the file ended early, or 'ERROR'. */
  readonly code: string;
  readonly message: string;
}

/** A file of a FilesTask read unchanged: its bytes are at `offset` in the batch's buffer. */
export interface FileDigest {
  /** Index in the task's paths. */
  readonly index: number;
  readonly offset: number;
  readonly size: number;
  /** Permission bits and whole milliseconds of the mtime, from the fstat after the read. */
  readonly mode: number;
  readonly mtimeMs: number;
  readonly sizes: readonly number[];
  readonly ids: readonly string[];
}

/**
 * A file of a FilesTask not read: CHANGING (changed during every attempt), GONE (disappeared), NOT_FILE
 * (stopped being a regular file), TOO_LARGE (grew past a buffer: read it by segments), or an errno code.
 */
export interface FileProblem {
  readonly index: number;
  readonly problem: string;
  readonly message: string;
}

/** Files of one FilesTask; their bytes are in shared block `block`, in `buffer` when -1 (null: no bytes). */
export interface FilesBatch {
  readonly type: 'files';
  readonly taskId: number;
  readonly block: number;
  readonly buffer: ArrayBuffer | null;
  readonly files: readonly (FileDigest | FileProblem)[];
}

export type FromWorker = ChunkBatch | FilesBatch | TaskDone | TaskFailed;
