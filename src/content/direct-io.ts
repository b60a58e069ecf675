/**
 * Direct I/O for pack writes. Buffered writes cost this machine ~1.6 CPU-s per GiB in the kernel (page-cache
 * copy, then writeback) — more than hashing; O_DIRECT writes go from our buffer to the disk and cost
 * ~0.1. The pack stays crash-safe the same way: fdatasync before its index is written (direct writes skip
 * the page cache, not the disk's write cache, which fdatasync flushes).
 *
 * O_DIRECT wants the buffer address, the file offset and the length aligned to the device's logical block.
 * Node gives no aligned allocation, but a WebAssembly memory is page-aligned: staging buffers are those.
 * Where O_DIRECT is refused (tmpfs before Linux 6.6, other systems) writes stay buffered.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { wasm, WASM_PAGE } from './wasm-api.js';

/** Alignment used for direct writes: a page, which covers every logical block size in use. */
export const DIRECT_ALIGN = 4096;

/** Opens `path` (which exists) for direct writes; null where the system or filesystem refuses. */
export async function openDirect(path: string): Promise<FileHandle | null> {
  const flag = constants.O_DIRECT;
  if (flag === undefined) return null;
  try {
    return await open(path, constants.O_WRONLY | flag);
  } catch {
    return null;
  }
}

/** Opens `path` for direct reads (offsets, lengths and buffers aligned as for writes); null where refused. */
export async function openDirectRead(path: string): Promise<FileHandle | null> {
  const flag = constants.O_DIRECT;
  if (flag === undefined) return null;
  try {
    return await open(path, constants.O_RDONLY | flag);
  } catch {
    return null;
  }
}

/** True for the error a direct write gives when it cannot be done directly (alignment, filesystem). */
export function isDirectRefusal(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EINVAL';
}

/**
 * Page-aligned buffers of one size, reused: a WebAssembly memory reserves ~10 GiB of address space each, so
 * a pack writer takes them from here instead of making two per pack. Falls back to plain (unaligned)
 * memory where no memory can be had; direct writes from those fail with EINVAL and are redone buffered.
 */
export class AlignedBufferPool {
  readonly #free: Uint8Array[] = [];

  constructor(
    /** Bytes per buffer, rounded up to a multiple of DIRECT_ALIGN. */
    readonly bytes: number,
    readonly maxKept = 4,
  ) {
    this.bytes = Math.ceil(bytes / DIRECT_ALIGN) * DIRECT_ALIGN;
  }

  take(): Uint8Array {
    const kept = this.#free.pop();
    if (kept) return kept;
    try {
      const pages = Math.ceil(this.bytes / WASM_PAGE);
      const memory = new wasm.Memory({ initial: pages, maximum: pages });
      return new Uint8Array(memory.buffer as ArrayBuffer, 0, this.bytes);
    } catch {
      return new Uint8Array(this.bytes);
    }
  }

  give(buffer: Uint8Array): void {
    if (buffer.length === this.bytes && this.#free.length < this.maxKept) this.#free.push(buffer);
  }
}
