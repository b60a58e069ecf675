/**
 * The in-memory index of a pack store: chunk id → the one authoritative record (pack, offset, length), the
 * sealed packs, and the pins of open ingest sessions. Every mutation is synchronous, so on Node's single
 * thread each one is atomic with respect to hasChunk(), get() and GC's mark decision.
 *
 * A pack may hold records that are not authoritative: duplicates written by two sessions racing on the
 * same chunk, or chunks a GC found dead. Those bytes are reclaimable.
 */
import { join } from 'node:path';
import { indexFileName, packFileName } from './pack-format.js';
import type { IndexRecord } from './pack-format.js';

export interface PackEntry {
  readonly seq: number;
  readonly packPath: string;
  readonly idxPath: string;
  readonly size: number;
  /** Epoch ms the pack was sealed (its file time when loaded from disk). */
  readonly sealedAt: number;
  readonly records: readonly ChunkRecord[];
  /** Bytes of indexed chunks the last GC found dead but left in place (pack above the compaction threshold). */
  deadBytes: number;
}

export interface ChunkRecord extends IndexRecord {
  readonly pack: PackEntry;
}

export interface PackContents {
  readonly seq: number;
  readonly size: number;
  /** Default: now. */
  readonly sealedAt?: number;
  readonly records: readonly IndexRecord[];
}

export class PackIndex {
  readonly #dir: string;
  readonly #chunks = new Map<string, ChunkRecord>();
  readonly #packs = new Map<number, PackEntry>();
  readonly #pins = new Map<string, number>();
  #chunkBytes = 0;
  #packBytes = 0;

  constructor(dir: string) {
    this.#dir = dir;
  }

  get(id: string): ChunkRecord | undefined {
    return this.#chunks.get(id);
  }

  has(id: string): boolean {
    return this.#chunks.has(id);
  }

  /** Sealed packs, oldest first. */
  packs(): PackEntry[] {
    return [...this.#packs.values()].sort((a, b) => a.seq - b.seq);
  }

  get chunkCount(): number {
    return this.#chunks.size;
  }

  /** Bytes of distinct indexed chunks. */
  get chunkBytes(): number {
    return this.#chunkBytes;
  }

  /** Bytes of all pack files. */
  get packBytes(): number {
    return this.#packBytes;
  }

  get packCount(): number {
    return this.#packs.size;
  }

  get pinCount(): number {
    return this.#pins.size;
  }

  deadBytes(): number {
    let n = 0;
    for (const p of this.#packs.values()) n += p.deadBytes;
    return n;
  }

  /**
   * Registers a sealed pack. Each record becomes authoritative when its id is not indexed yet or when
   * `takesOver(current)` says the current record should give way (loading newer packs, compaction).
   */
  addPack(contents: PackContents, takesOver?: (current: ChunkRecord) => boolean): PackEntry {
    const records: ChunkRecord[] = [];
    const pack: PackEntry = {
      seq: contents.seq,
      packPath: join(this.#dir, packFileName(contents.seq)),
      idxPath: join(this.#dir, indexFileName(contents.seq)),
      size: contents.size,
      sealedAt: contents.sealedAt ?? Date.now(),
      records,
      deadBytes: 0,
    };
    for (const r of contents.records) {
      const rec: ChunkRecord = { id: r.id, offset: r.offset, length: r.length, pack };
      records.push(rec);
      const current = this.#chunks.get(r.id);
      if (current === undefined) {
        this.#chunks.set(r.id, rec);
        this.#chunkBytes += r.length;
      } else if (takesOver?.(current)) {
        this.#chunks.set(r.id, rec);
        this.#chunkBytes += r.length - current.length;
      }
    }
    this.#packs.set(pack.seq, pack);
    this.#packBytes += pack.size;
    return pack;
  }

  /** Drops `rec` from the index if it is the authoritative record of its id. */
  removeChunk(rec: ChunkRecord): boolean {
    if (this.#chunks.get(rec.id) !== rec) return false;
    this.#chunks.delete(rec.id);
    this.#chunkBytes -= rec.length;
    return true;
  }

  /** Forgets a pack and every authoritative record in it. */
  removePack(pack: PackEntry): void {
    if (this.#packs.get(pack.seq) !== pack) return;
    for (const rec of pack.records) this.removeChunk(rec);
    this.#packs.delete(pack.seq);
    this.#packBytes -= pack.size;
  }

  pin(id: string): void {
    this.#pins.set(id, (this.#pins.get(id) ?? 0) + 1);
  }

  unpin(id: string): void {
    const n = this.#pins.get(id);
    if (n === undefined) return;
    if (n <= 1) this.#pins.delete(id);
    else this.#pins.set(id, n - 1);
  }

  isPinned(id: string): boolean {
    return this.#pins.has(id);
  }
}
