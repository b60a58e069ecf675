/**
 * Chunk worker thread: reads a segment of a file in blocks, cuts it with FastCDC, hashes every chunk with
 * node:crypto SHA-256 and sends the chunks back per block, without copying the bytes.
 *
 * Blocks are SharedArrayBuffers the pool gave this worker once; the main thread hands a block back (by
 * index) when it is done with its chunks. Reused blocks matter: a fresh 4 MiB buffer per block costs page
 * faults here and, as transferred external memory, a major GC on the main thread every ~64 MiB; together
 * they doubled the CPU per GiB. When no block is free the worker falls back to a fresh ArrayBuffer and
 * transfers it, so a slow reader never blocks a worker (which could deadlock readers of several files).
 * Tasks run one at a time in arrival order; between blocks the worker yields so cancel messages land.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createChunker, cutLength } from './fastcdc.js';
import { blockBuffer, blockCutter } from './gear-wasm.js';
import type {
  ChunkBatch,
  FileDigest,
  FileProblem,
  FilesBatch,
  FilesTask,
  FromWorker,
  SegmentTask,
  ToWorker,
  WorkerConfig,
} from './chunk-protocol.js';
import { sameFile } from './file-identity.js';

const config = workerData as WorkerConfig;
const chunker = createChunker(config.chunking);
const port = parentPort!;

const capacity = config.blockBytes + chunker.maxSize;
const blocks = config.blocks.map(blockBuffer);
const cutters = config.blocks.map((b) => blockCutter(b, chunker));
const freeBlocks: number[] = config.blocks.map((_, i) => i);
const queue: (SegmentTask | FilesTask)[] = [];
const cancelled = new Set<number>();
let running = false;

class ShortRead extends Error {}

/** A buffer being filled: a view of a shared block (block >= 0) or of a fresh ArrayBuffer (block -1). */
interface Buf {
  readonly bytes: Uint8Array;
  readonly block: number;
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') cancelled.add(m.taskId);
  else if (m.type === 'recycle') freeBlocks.push(m.block);
  else {
    queue.push(m);
    void pump();
  }
});

async function pump(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
      try {
        if (cancelled.has(task.taskId)) {
          // Skipped: the reader let go of it.
        } else if (task.type === 'files') {
          runFilesTask(task);
          await yieldToEvents();
        } else await runTask(task);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const failed: FromWorker = {
          type: 'failed',
          taskId: task.taskId,
          code: e instanceof ShortRead ? 'SHORT_READ' : (err.code ?? 'ERROR'),
          message: err.message ?? String(e),
        };
        port.postMessage(failed);
        cancelled.delete(task.taskId);
        continue;
      }
      cancelled.delete(task.taskId);
      port.postMessage({ type: 'done', taskId: task.taskId } satisfies FromWorker);
    }
  } finally {
    running = false;
  }
}

function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function allocate(length: number): Buf {
  const block = freeBlocks.pop();
  if (block === undefined) return { bytes: new Uint8Array(length), block: -1 };
  return { bytes: new Uint8Array(blocks[block]!, 0, length), block };
}

/** cutLength over buf.bytes[start, end): in WebAssembly for a shared block, else in JS. */
function cut(buf: Buf, start: number, end: number): number {
  const cutter = buf.block >= 0 ? cutters[buf.block] : undefined;
  return cutter ? cutter.cutLength(start, end) : cutLength(buf.bytes, start, end, chunker);
}

async function runTask(task: SegmentTask): Promise<void> {
  const { taskId, path, start, end, fileSize, whole } = task;
  const maxSize = chunker.maxSize;
  // No chunk that starts before `end` reaches past end + maxSize.
  const readLimit = Math.min(fileSize, end + maxSize);
  let held: Buf | undefined;
  const fd = openSync(path, 'r');
  try {
    let bufFile = start;
    let buf = (held = allocate(Math.min(capacity, readLimit - start)));
    let bufLen = fill(fd, buf.bytes, 0, bufFile, readLimit);
    let starts: number[] = [];
    let sizes: number[] = [];
    let ids: string[] = [];
    let pos = start;
    while (pos < end && pos < fileSize) {
      const rel = pos - bufFile;
      const need = Math.min(maxSize, fileSize - pos);
      if (bufLen - rel < need) {
        // Refill: the unchunked tail moves to the front of another buffer, the old one goes to main.
        const next = allocate(Math.min(capacity, readLimit - pos));
        next.bytes.set(buf.bytes.subarray(rel, bufLen));
        held = next;
        if (starts.length > 0) send(taskId, buf, bufFile, starts, sizes, ids);
        else if (buf.block >= 0) freeBlocks.push(buf.block);
        starts = [];
        sizes = [];
        ids = [];
        buf = next;
        bufLen = fill(fd, buf.bytes, bufLen - rel, pos, readLimit);
        bufFile = pos;
        await yieldToEvents();
        if (cancelled.has(taskId)) return;
        continue;
      }
      const len = whole === true ? need : cut(buf, rel, rel + need);
      starts.push(rel);
      sizes.push(len);
      ids.push(hash('sha256', buf.bytes.subarray(rel, rel + len), 'hex'));
      pos += len;
    }
    if (starts.length > 0) {
      held = undefined;
      send(taskId, buf, bufFile, starts, sizes, ids);
    }
  } finally {
    if (held && held.block >= 0) freeBlocks.push(held.block);
    closeSync(fd);
  }
}

/** Fills buf[from..] with file bytes starting at file offset bufFile + from; returns the bytes now valid. */
function fill(fd: number, buf: Uint8Array, from: number, bufFile: number, readLimit: number): number {
  let len = from;
  const want = Math.min(buf.length, readLimit - bufFile);
  while (len < want) {
    const n = readSync(fd, buf, len, want - len, bufFile + len);
    if (n === 0) throw new ShortRead(`file ended at ${bufFile + len}, before ${readLimit}`);
    len += n;
  }
  return len;
}

function send(
  taskId: number,
  buf: Buf,
  bufferFileOffset: number,
  starts: number[],
  sizes: number[],
  ids: string[],
): void {
  const shared = buf.block >= 0;
  const batch: ChunkBatch = {
    type: 'batch',
    taskId,
    block: buf.block,
    buffer: shared ? null : (buf.bytes.buffer as ArrayBuffer),
    bufferFileOffset,
    starts,
    sizes,
    ids,
  };
  if (shared) port.postMessage(batch);
  else port.postMessage(batch, [buf.bytes.buffer as ArrayBuffer]);
}

/**
 * Whole files, many per message: per file one open, two fstats, one stat and one read here, instead of
 * stats and messages on the main thread (which, at ~0.25 ms per file, capped trees of small files).
 */
function runFilesTask(task: FilesTask): void {
  let buf: Buf | undefined;
  let used = 0;
  let out: (FileDigest | FileProblem)[] = [];
  let remaining = task.bytes;
  const flush = (): void => {
    if (out.length === 0) return;
    const shared = buf !== undefined && buf.block >= 0;
    const buffer = buf === undefined || shared ? null : (buf.bytes.buffer as ArrayBuffer);
    const batch: FilesBatch = {
      type: 'files',
      taskId: task.taskId,
      block: buf?.block ?? -1,
      buffer,
      files: out,
    };
    if (buffer) port.postMessage(batch, [buffer]);
    else port.postMessage(batch);
    buf = undefined;
    used = 0;
    out = [];
  };
  /** A buffer with room for `size` more bytes, and where they go. */
  const room = (size: number): Room => {
    if (buf === undefined || used + size > buf.bytes.length) {
      if (buf !== undefined) {
        if (out.length > 0) flush();
        else if (buf.block >= 0) freeBlocks.push(buf.block);
      }
      buf = allocate(Math.min(capacity, Math.max(size, remaining)));
      used = 0;
    }
    return { buf, offset: used };
  };
  try {
    for (const [index, path] of task.paths.entries()) {
      const r = readWholeFile(path, index, task.attempts, room);
      if ('problem' in r) out.push(r);
      else {
        out.push(r);
        used += r.size;
        remaining -= r.size;
      }
    }
    flush();
  } finally {
    const left = buf;
    // Not sent (no file in it, or a failure): the block stays this worker's.
    if (left !== undefined && left.block >= 0) freeBlocks.push(left.block);
  }
}

function readWholeFile(
  path: string,
  index: number,
  attempts: number,
  room: (size: number) => Room,
): FileDigest | FileProblem {
  const problem = (code: string, message: string): FileProblem => ({ index, problem: code, message });
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO swapped in since the walk must not block the open (regular files ignore it).
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      return errnoProblem(e, index);
    }
    try {
      const before = fstatSync(fd, { bigint: true });
      if (!before.isFile()) return problem('NOT_FILE', 'not a regular file');
      const size = Number(before.size);
      if (size > capacity) return problem('TOO_LARGE', `${size} bytes`);
      const { buf, offset } = size > 0 ? room(size) : EMPTY_ROOM;
      if (!readFully(fd, buf.bytes, offset, size)) continue;
      const after = fstatSync(fd, { bigint: true });
      let byPath: BigIntStats;
      try {
        byPath = statSync(path, { bigint: true });
      } catch (e) {
        return errnoProblem(e, index);
      }
      if (!sameFile(before, after) || !sameFile(after, byPath)) continue;
      const sizes: number[] = [];
      const ids: string[] = [];
      for (let pos = 0; pos < size;) {
        const at = offset + pos;
        const len = cut(buf, at, at + Math.min(chunker.maxSize, size - pos));
        sizes.push(len);
        ids.push(hash('sha256', buf.bytes.subarray(at, at + len), 'hex'));
        pos += len;
      }
      return {
        index,
        offset,
        size,
        mode: Number(after.mode) & 0o777,
        mtimeMs: Number(after.mtimeMs),
        sizes,
        ids,
      };
    } catch (e) {
      return errnoProblem(e, index);
    } finally {
      closeSync(fd);
    }
  }
  return problem('CHANGING', `changed during each of ${attempts} reads`);
}

interface Room {
  readonly buf: Buf;
  readonly offset: number;
}

const EMPTY_ROOM: Room = { buf: { bytes: new Uint8Array(0), block: -1 }, offset: 0 };

/** Reads `size` bytes from the file's start into bytes[offset..]; false when the file ended sooner. */
function readFully(fd: number, bytes: Uint8Array, offset: number, size: number): boolean {
  for (let got = 0; got < size;) {
    const n = readSync(fd, bytes, offset + got, size - got, got);
    if (n === 0) return false;
    got += n;
  }
  return true;
}

function errnoProblem(e: unknown, index: number): FileProblem {
  const err = e as NodeJS.ErrnoException;
  const code = err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'GONE' : (err.code ?? 'ERROR');
  return { index, problem: code, message: err.message ?? String(e) };
}
