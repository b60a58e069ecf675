/**
 * Writes a new file front to back through a page-aligned staging buffer, with O_DIRECT where the file
 * system allows it (../../content/direct-io.ts): a DP receiving a package writes every byte twice (batch
 * file, then the tree) and buffered writes cost ~1.6 CPU-s per GiB in the kernel each time; direct ones
 * almost nothing. Where O_DIRECT is refused (tmpfs, other systems), at open or at the first write, the
 * same bytes go through the page cache instead. Nothing about durability changes: callers fsync as
 * before (a direct write skips the page cache, not the disk's write cache).
 *
 * The bytes handed to `write` are copied before it returns, so callers may reuse their buffers at once.
 */
import type { FileHandle } from 'node:fs/promises';
// Not in content's index: direct I/O is a storage detail the content feature shares with DP folders only.
import { AlignedBufferPool, DIRECT_ALIGN, isDirectRefusal, openDirect } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';

/** Bytes staged before one write. */
const STAGING_BYTES = 8 * 1024 * 1024;
const staging = new AlignedBufferPool(STAGING_BYTES, 4);

export class StagedFileWriter {
  #buffer: Uint8Array;
  #staged = 0;
  /** File offset of the staging buffer's first byte. */
  #at = 0;
  #direct: FileHandle | null;
  #closed = false;

  private constructor(
    private readonly handle: FileHandle,
    direct: FileHandle | null,
  ) {
    this.#direct = direct;
    this.#buffer = staging.take();
  }

  /**
   * A writer of the new, empty file at `path`, already open as `handle` (which stays the caller's to sync
   * and close); `close()` must follow, whatever happens.
   */
  static async open(path: string, handle: FileHandle): Promise<StagedFileWriter> {
    return new StagedFileWriter(handle, await openDirect(path));
  }

  /** Bytes written so far (staged ones included). */
  get length(): number {
    return this.#at + this.#staged;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(bytes.length - from, this.#buffer.length - this.#staged);
      this.#buffer.set(n === bytes.length ? bytes : bytes.subarray(from, from + n), this.#staged);
      this.#staged += n;
      from += n;
      if (this.#staged === this.#buffer.length) await this.#flush();
    }
  }

  /** Writes what is staged; the file then holds exactly the bytes written (not yet fsync'd). */
  async finish(): Promise<void> {
    const size = this.length;
    if (this.#staged > 0) {
      if (this.#direct) {
        // A direct write covers whole blocks: pad the tail, then cut the file back to its size.
        const padded = Math.ceil(this.#staged / DIRECT_ALIGN) * DIRECT_ALIGN;
        this.#buffer.fill(0, this.#staged, padded);
        this.#staged = padded;
        await this.#flush();
        await this.handle.truncate(size);
      } else await this.#flush();
    }
    this.#at = size;
  }

  /** Closes the direct handle and gives the staging buffer back; the caller's handle stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    staging.give(this.#buffer);
    await this.#direct?.close();
    this.#direct = null;
  }

  async #flush(): Promise<void> {
    let done = 0;
    while (done < this.#staged) {
      const position = this.#at + done;
      let written: number;
      try {
        ({ bytesWritten: written } = await (this.#direct ?? this.handle).write(
          this.#buffer,
          done,
          this.#staged - done,
          position,
        ));
      } catch (e) {
        if (!this.#direct || !isDirectRefusal(e)) throw e;
        // Refused (alignment, file system): the rest of the file goes through the page cache.
        await this.#direct.close().catch(() => undefined);
        this.#direct = null;
        continue;
      }
      if (written <= 0)
        throw new SitecastError('DISK_FULL', `writing at offset ${position}: nothing was written`);
      done += written;
    }
    this.#at += this.#staged;
    this.#staged = 0;
  }
}
