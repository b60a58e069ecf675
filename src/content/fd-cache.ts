/**
 * A bounded cache of read handles on pack files. Handles are leased: GC may evict a pack while a read is
 * in flight, and the handle is closed only when its last lease is released (closing it under a reader
 * could let the fd number be reused by another file mid-read).
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

interface Entry {
  readonly handle: Promise<FileHandle>;
  leases: number;
  evicted: boolean;
}

export interface FdLease {
  readonly handle: FileHandle;
  release(): void;
}

export class FdCache {
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A handle on `path`; rejects with the open error (e.g. ENOENT once GC deleted the pack). */
  async acquire(path: string): Promise<FdLease> {
    let entry = this.#entries.get(path);
    if (entry) {
      // Refresh the LRU position.
      this.#entries.delete(path);
      this.#entries.set(path, entry);
    } else {
      entry = { handle: open(path, 'r'), leases: 0, evicted: false };
      this.#entries.set(path, entry);
    }
    // Lease before trimming so the entry in use is never the one trimmed.
    entry.leases++;
    this.#trim();
    const e = entry;
    let handle: FileHandle;
    try {
      handle = await e.handle;
    } catch (err) {
      e.leases--;
      if (this.#entries.get(path) === e) this.#entries.delete(path);
      throw err;
    }
    let released = false;
    return {
      handle,
      release: () => {
        if (released) return;
        released = true;
        e.leases--;
        if (e.evicted && e.leases === 0) void closeQuietly(e.handle);
      },
    };
  }

  /** Forgets `path`; its handle closes once no read holds it. */
  evict(path: string): void {
    const e = this.#entries.get(path);
    if (!e) return;
    this.#entries.delete(path);
    this.#retire(e);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    for (const e of all) e.evicted = true;
    await Promise.all(all.map((e) => (e.leases === 0 ? closeQuietly(e.handle) : Promise.resolve())));
  }

  #retire(e: Entry): void {
    e.evicted = true;
    if (e.leases === 0) void closeQuietly(e.handle);
  }

  #trim(): void {
    if (this.#entries.size <= this.#max) return;
    for (const [path, e] of this.#entries) {
      if (this.#entries.size <= this.#max) break;
      if (e.leases > 0) continue;
      this.#entries.delete(path);
      this.#retire(e);
    }
  }
}

async function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  try {
    await (await handle).close();
  } catch {
    // Opening failed (nothing to close) or the handle is already closed.
  }
}
