/**
 * Writes one pack: chunks are copied into a staging buffer and written in large sequential writes (one
 * write in flight while the next buffer fills), so the per-chunk cost is a memcpy. Full buffers go to the
 * disk with O_DIRECT where the filesystem allows it (direct-io.ts: no page-cache copy), the last partial
 * block of the pack through the ordinary handle. `seal()` makes the pack durable and visible in this
 * order: fdatasync the temp pack, rename it, write the index to a temp name, fsync, rename (the commit
 * point), fsync the directory. Any failure removes every file of this pack.
 */
import { open, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SitecastError } from '../kernel/index.js';
import { DIRECT_ALIGN, isDirectRefusal, openDirect, type AlignedBufferPool } from './direct-io.js';
import { fsyncDir, removeQuietly, storeIoError, writeFileDurable } from './durable-file.js';
import { MAX_CHUNK_BYTES, encodeIndex, indexFileName, packFileName } from './pack-format.js';
import type { IndexRecord } from './pack-format.js';

export interface SealedPack {
  readonly seq: number;
  readonly size: number;
  readonly records: readonly IndexRecord[];
}

export class PackWriter {
  readonly seq: number;
  readonly #dir: string;
  readonly #packPath: string;
  readonly #packTmp: string;
  readonly #idxPath: string;
  #fh: FileHandle | null;
  /** The same temp file opened with O_DIRECT; null where refused (then every write is buffered). */
  #direct: FileHandle | null;
  readonly #buffers: AlignedBufferPool;
  #staging: Uint8Array;
  #spare: Uint8Array | null = null;
  #staged = 0;
  #written = 0;
  #size = 0;
  #inflight: Promise<void> | null = null;
  #failure: SitecastError | null = null;
  #state: 'open' | 'sealing' | 'done' = 'open';
  readonly #records: IndexRecord[] = [];
  readonly #ids = new Set<string>();

  private constructor(
    dir: string,
    seq: number,
    fh: FileHandle,
    direct: FileHandle | null,
    buffers: AlignedBufferPool,
  ) {
    this.seq = seq;
    this.#dir = dir;
    this.#packPath = join(dir, packFileName(seq));
    this.#packTmp = `${this.#packPath}.tmp`;
    this.#idxPath = join(dir, indexFileName(seq));
    this.#fh = fh;
    this.#direct = direct;
    this.#buffers = buffers;
    this.#staging = buffers.take();
  }

  /** Opens `<seq>.pack.tmp` exclusively in `dir`; staging buffers come from (and go back to) `buffers`. */
  static async create(dir: string, seq: number, buffers: AlignedBufferPool): Promise<PackWriter> {
    const tmp = join(dir, `${packFileName(seq)}.tmp`);
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx');
    } catch (e) {
      throw storeIoError(e, `creating pack ${tmp}`);
    }
    return new PackWriter(dir, seq, fh, await openDirect(tmp), buffers);
  }

  get size(): number {
    return this.#size;
  }

  get chunkCount(): number {
    return this.#records.length;
  }

  get packPath(): string {
    return this.#packPath;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Appends a chunk. The bytes are copied (or written before this resolves), so the caller may reuse them. */
  async append(id: string, bytes: Uint8Array): Promise<void> {
    this.#assertWritable();
    if (bytes.length > MAX_CHUNK_BYTES) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `chunk ${id} is ${bytes.length} bytes, more than the ${MAX_CHUNK_BYTES} a pack accepts`,
        { field: 'bytes', id },
      );
    }
    // Buffers are spilled only when full, so every write but the pack's last is a whole number of blocks.
    for (let done = 0; done < bytes.length;) {
      if (this.#staged === this.#staging.length) await this.#spill();
      const n = Math.min(bytes.length - done, this.#staging.length - this.#staged);
      this.#staging.set(
        done === 0 && n === bytes.length ? bytes : bytes.subarray(done, done + n),
        this.#staged,
      );
      this.#staged += n;
      done += n;
    }
    this.#records.push({ id, offset: this.#size, length: bytes.length });
    this.#ids.add(id);
    this.#size += bytes.length;
  }

  /** Makes the pack durable and visible (see the file comment); removes every trace of it on failure. */
  async seal(): Promise<SealedPack> {
    this.#assertWritable();
    this.#state = 'sealing';
    let renamed = false;
    try {
      await this.#spill();
      await this.#drain();
      const fh = this.#fh as FileHandle;
      // Flushes the buffered tail and the disk's write cache, which holds the direct writes too.
      await fh.datasync();
      this.#fh = null;
      await fh.close();
      await this.#closeDirect();
      await rename(this.#packTmp, this.#packPath);
      renamed = true;
      const idx = encodeIndex(this.#records, this.#size);
      await writeFileDurable(this.#idxPath, `${this.#idxPath}.tmp`, idx, false);
      await fsyncDir(this.#dir);
    } catch (e) {
      await this.#cleanup(renamed);
      throw storeIoError(e, `sealing pack ${this.#packPath}`);
    }
    this.#state = 'done';
    this.#returnBuffers();
    return { seq: this.seq, size: this.#size, records: this.#records };
  }

  /** Drops the pack: nothing of it stays on disk. Safe to call more than once. */
  async discard(): Promise<void> {
    if (this.#state === 'done') return;
    this.#state = 'done';
    await this.#cleanup(false);
  }

  #assertWritable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== 'open') {
      throw new SitecastError('FAILED', `pack ${this.#packPath} is no longer open for writing`, {
        path: this.#packPath,
      });
    }
  }

  /** Starts writing the staged bytes; waits only for the previous write, so filling and writing overlap. */
  async #spill(): Promise<void> {
    if (this.#staged === 0) return;
    await this.#drain();
    const buf = this.#staging.subarray(0, this.#staged);
    const pos = this.#written;
    this.#written += this.#staged;
    const done = this.#staging;
    this.#staging = this.#spare ?? this.#buffers.take();
    this.#spare = done;
    this.#staged = 0;
    this.#inflight = this.#writeFully(buf, pos).catch((e: unknown) => {
      this.#failure ??= storeIoError(e, `writing pack ${this.#packTmp}`);
    });
  }

  async #drain(): Promise<void> {
    if (this.#inflight) {
      await this.#inflight;
      this.#inflight = null;
    }
    if (this.#failure) throw this.#failure;
  }

  /** Writes whole blocks at a block-aligned position directly, the rest (and all when refused) buffered. */
  async #writeFully(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (this.#direct && (position + done) % DIRECT_ALIGN === 0) {
      const n = bytes.length - done - ((bytes.length - done) % DIRECT_ALIGN);
      if (n === 0) break;
      try {
        const { bytesWritten } = await this.#direct.write(bytes, done, n, position + done);
        done += bytesWritten;
      } catch (e) {
        if (!isDirectRefusal(e)) throw e;
        await this.#closeDirect();
      }
    }
    const fh = this.#fh as FileHandle;
    while (done < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }

  async #closeDirect(): Promise<void> {
    const direct = this.#direct;
    this.#direct = null;
    await direct?.close().catch(() => undefined);
  }

  #returnBuffers(): void {
    for (const b of [this.#staging, this.#spare]) if (b) this.#buffers.give(b);
    this.#spare = null;
    this.#staging = new Uint8Array(0);
  }

  async #cleanup(renamed: boolean): Promise<void> {
    if (this.#inflight) await this.#inflight;
    this.#inflight = null;
    const fh = this.#fh;
    this.#fh = null;
    if (fh) await fh.close().catch(() => undefined);
    await this.#closeDirect();
    await removeQuietly(this.#packTmp);
    if (renamed) {
      await removeQuietly(this.#idxPath);
      await removeQuietly(this.#packPath);
    }
    this.#returnBuffers();
  }
}
