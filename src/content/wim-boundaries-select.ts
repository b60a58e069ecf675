/**
 * Content-defined cuts among the compression-chunk boundaries of one compressed WIM resource.
 *
 * Why: LZX/XPRESS/LZMS compress each 32 KiB (the WIM's chunk size) of a stream independently, so a small
 * edit rewrites whole compression chunks and leaves the others byte-identical, but FastCDC's cuts land
 * anywhere inside them: every changed run costs the partial chunks on both sides. Cutting only at
 * compression-chunk boundaries keeps a change inside the chunks that really changed. Cutting at every one
 * would multiply chunks (one per ~10–32 KiB), so a boundary is kept when a hash of the compressed chunk
 * just before it (its size and last bytes) falls below a threshold proportional to that chunk's size: on
 * average one cut per `averageBytes` of stored data whatever the compression ratio. Each decision depends
 * only on those bytes, never on where the resource sits in the file or on earlier decisions, so an
 * unchanged run of compression chunks gets the same cuts wherever it moved.
 */

export interface ChunkCutParams {
  /** Stored bytes per selected cut, on average, before the `minBytes` rule thins them. */
  readonly averageBytes: number;
  /** No cut closer than this after another hit, or to the resource's data start or end. */
  readonly minBytes: number;
  /** Bytes hashed at the end of each compression chunk (fewer when the chunk is shorter). */
  readonly windowBytes: number;
  /**
   * A region between cuts made of whole compression chunks (or whole small resources) and no longer than
   * this is one chunk; FastCDC runs inside a longer one. Twice the average: long enough for most regions,
   * short enough that an unlucky long one costs a few FastCDC chunks, not the whole region.
   */
  readonly wholeMaxBytes: number;
}

/**
 * Defaults, tuned on bench/wim-delta.ts (LZX, ~300 MiB): 56 KiB per hit gives chunks of ~50 KiB on
 * average, 1.5× plain FastCDC's count, and a changed-chunk floor 1.005× the compression chunks that really
 * changed (64 KiB: 1.25× the count, 1.08× the floor; resource cuts alone: 1.1×, 1.11×).
 */
export const DEFAULT_CHUNK_CUTS: ChunkCutParams = {
  averageBytes: 56 * 1024,
  minBytes: 16 * 1024,
  windowBytes: 32,
  wholeMaxBytes: 128 * 1024,
};

/** A compressed resource's data part: its compression chunks, located by its chunk table. */
export interface CompressedLayout {
  /** File offset of the first compression chunk (just after the chunk table). */
  readonly dataStart: number;
  /** File offset where the resource ends. */
  readonly dataEnd: number;
  /** File offsets where compression chunks 1..n-1 start (ascending, inside (dataStart, dataEnd)). */
  readonly boundaries: readonly number[];
}

/**
 * The layout of a compressed resource from its chunk table (`entryBytes` 4 or 8 per entry, one per chunk
 * after the first: each chunk's start relative to the data start), or undefined when the table is not one:
 * offsets not ascending, a chunk empty or stored larger than `chunkSize` (a chunk that does not compress is
 * stored as is, never larger), or past the resource's end.
 */
export function parseChunkTable(
  table: Uint8Array,
  entryBytes: 4 | 8,
  dataStart: number,
  dataEnd: number,
  chunkSize: number,
): CompressedLayout | undefined {
  if (table.length % entryBytes !== 0 || dataStart >= dataEnd) return undefined;
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const boundaries: number[] = [];
  let previous = 0;
  for (let o = 0; o < table.length; o += entryBytes) {
    const rel = entryBytes === 4 ? view.getUint32(o, true) : Number(view.getBigUint64(o, true));
    if (rel <= previous || rel - previous > chunkSize) return undefined;
    boundaries.push(dataStart + rel);
    previous = rel;
  }
  const last = dataEnd - dataStart - previous;
  if (last <= 0 || last > chunkSize) return undefined;
  return { dataStart, dataEnd, boundaries };
}

/** Window of the compression chunk that ends at boundaries[k]: the file range whose bytes decide the cut. */
export function windowBefore(layout: CompressedLayout, k: number, params: ChunkCutParams): WindowRange {
  const end = layout.boundaries[k]!;
  const chunkStart = k === 0 ? layout.dataStart : layout.boundaries[k - 1]!;
  return { offset: Math.max(chunkStart, end - params.windowBytes), end };
}

export interface WindowRange {
  readonly offset: number;
  readonly end: number;
}

/**
 * The selected cuts (file offsets, ascending) among `layout.boundaries`. `window(k)` gives the bytes of
 * windowBefore(layout, k). A boundary is a hit when hash(chunk size, window) < 2^32 × size / averageBytes;
 * a hit is a cut unless an earlier hit, the data start or the data end is closer than minBytes.
 */
export function selectChunkCuts(
  layout: CompressedLayout,
  window: (k: number) => Uint8Array,
  params: ChunkCutParams = DEFAULT_CHUNK_CUTS,
): number[] {
  const { boundaries, dataStart, dataEnd } = layout;
  const cuts: number[] = [];
  let lastHit = -Infinity;
  for (let k = 0; k < boundaries.length; k++) {
    const at = boundaries[k]!;
    const chunkBytes = at - (k === 0 ? dataStart : boundaries[k - 1]!);
    if (!isHit(chunkBytes, window(k), params.averageBytes)) continue;
    const clear = at - lastHit >= params.minBytes;
    lastHit = at;
    if (clear && at - dataStart >= params.minBytes && dataEnd - at >= params.minBytes) cuts.push(at);
  }
  return cuts;
}

function isHit(chunkBytes: number, window: Uint8Array, averageBytes: number): boolean {
  const threshold = Math.min(1, chunkBytes / averageBytes) * 2 ** 32;
  return windowHash(chunkBytes, window) < threshold;
}

/** FNV-1a over the chunk size (4 bytes, little-endian) and the window, then murmur3's finaliser. */
export function windowHash(chunkBytes: number, window: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ ((chunkBytes >>> (8 * i)) & 0xff), 0x01000193);
  for (const b of window) h = Math.imul(h ^ b, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A resource too small for cuts of its own: where it ends, its stored size and its SHA-1 (blob table). */
export interface SmallResource {
  readonly end: number;
  readonly storedSize: number;
  readonly sha1: Uint8Array;
}

/**
 * The same selection among the ends of small resources (runs of small file streams between large ones):
 * a resource's end is a hit when hash(stored size, SHA-1 of its data) < 2^32 × size / averageBytes, and a
 * cut unless an earlier hit or a forced cut is closer than minBytes before it, or a forced cut after it.
 * Needs no reads: the blob table holds both. Without it, adding or removing one stream re-cuts the run of
 * small streams around it, as FastCDC's chunks there straddle the streams.
 */
export function selectResourceCuts(
  small: readonly SmallResource[],
  forced: readonly number[],
  params: ChunkCutParams = DEFAULT_CHUNK_CUTS,
): number[] {
  const sorted = [...small].sort((a, b) => a.end - b.end);
  const cuts: number[] = [];
  let lastHit = -Infinity;
  let f = 0;
  for (const r of sorted) {
    if (r.storedSize <= 0 || !isHit(r.storedSize, r.sha1, params.averageBytes)) continue;
    while (f < forced.length && forced[f]! <= r.end) f++;
    const before = f > 0 ? forced[f - 1]! : -Infinity;
    const after = f < forced.length ? forced[f]! : Infinity;
    const clear = r.end - Math.max(lastHit, before) >= params.minBytes && after - r.end >= params.minBytes;
    lastHit = r.end;
    if (clear) cuts.push(r.end);
  }
  return cuts;
}
