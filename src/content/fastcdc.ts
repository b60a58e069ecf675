/**
 * FastCDC content-defined chunking (Xia et al., 2016/2020): Gear rolling hash, normalised chunking with a
 * harder mask before the average size and an easier one after it, and no hashing of the first `min` bytes.
 *
 * Chunk boundaries are part of the content address of everything ever stored, so the Gear table, the masks
 * and the cut rule below must never change (fastcdc.test.ts pins a golden list of cut offsets). A new
 * chunker would need a new manifest format version.
 */
import { createHash } from 'node:crypto';
import { SitecastError } from '../kernel/index.js';

export interface ChunkingParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

export const DEFAULT_CHUNKING: ChunkingParams = Object.freeze({
  minSize: 16 * 1024,
  avgSize: 64 * 1024,
  maxSize: 256 * 1024,
});

/** The normalisation level: the masks carry log2(avg) ± 2 bits, as the FastCDC paper recommends. */
const NORMALISATION = 2;

/**
 * Gear table: entry i is the first 4 bytes (big-endian, as a signed 32-bit int) of
 * SHA-256("sitecast-fastcdc-gear-v1:" + i). Derived rather than pasted so anyone can re-create it.
 */
export const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(`sitecast-fastcdc-gear-v1:${i}`).digest().readInt32BE(0);
  }
  return table;
})();

/** A mask of the `bits` highest bits: with `h << 1` rolling, high bits depend on the most bytes. */
function highBitsMask(bits: number): number {
  return bits >= 32 ? -1 : ~(0xffffffff >>> bits) | 0;
}

/** Chunking parameters validated and expanded into the masks the hot loop needs. */
export interface Chunker {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  /** Harder mask, used before `avgSize`. */
  readonly maskS: number;
  /** Easier mask, used from `avgSize` on. */
  readonly maskL: number;
}

/** Validates chunking parameters (INVALID_PARAMETER naming the field) and derives the masks. */
export function createChunker(params: ChunkingParams = DEFAULT_CHUNKING): Chunker {
  const { minSize, avgSize, maxSize } = params;
  for (const [field, v] of Object.entries({ minSize, avgSize, maxSize })) {
    if (!Number.isInteger(v) || v < 64 || v > 64 * 1024 * 1024) {
      throw new SitecastError('INVALID_PARAMETER', `chunking ${field} must be an integer in [64, 64 MiB]`, {
        field,
      });
    }
  }
  if (!(minSize < avgSize && avgSize < maxSize)) {
    throw new SitecastError('INVALID_PARAMETER', 'chunking sizes must satisfy minSize < avgSize < maxSize', {
      field: 'avgSize',
    });
  }
  if ((avgSize & (avgSize - 1)) !== 0) {
    throw new SitecastError('INVALID_PARAMETER', 'chunking avgSize must be a power of two', {
      field: 'avgSize',
    });
  }
  const bits = Math.round(Math.log2(avgSize));
  return Object.freeze({
    minSize,
    avgSize,
    maxSize,
    maskS: highBitsMask(bits + NORMALISATION),
    maskL: highBitsMask(bits - NORMALISATION),
  });
}

/**
 * Length of the chunk that starts at `start` in `src`, given that the data ends at `end` (either the end of
 * the file or at least `maxSize` bytes past `start`). Pure function of src[start, start + maxSize).
 *
 * This is the hot loop: keep it monomorphic (only plain Uint8Array, never Buffer, which has another map),
 * with 32-bit integer arithmetic only.
 */
export function cutLength(src: Uint8Array, start: number, end: number, c: Chunker): number {
  const remaining = end - start;
  if (remaining <= c.minSize) return remaining;
  const hardLen = remaining < c.maxSize ? remaining : c.maxSize;
  const normalLen = hardLen < c.avgSize ? hardLen : c.avgSize;
  const maskS = c.maskS;
  const maskL = c.maskL;
  const gear = GEAR;
  let h = 0;
  let i = start + c.minSize;
  // Unrolled by four (same cuts as one byte per iteration; ~18% faster in V8: fewer loop-bound checks).
  const normalEnd = start + normalLen;
  for (; i + 4 <= normalEnd; i += 4) {
    h = ((h << 1) + gear[src[i]!]!) | 0;
    if ((h & maskS) === 0) return i + 1 - start;
    h = ((h << 1) + gear[src[i + 1]!]!) | 0;
    if ((h & maskS) === 0) return i + 2 - start;
    h = ((h << 1) + gear[src[i + 2]!]!) | 0;
    if ((h & maskS) === 0) return i + 3 - start;
    h = ((h << 1) + gear[src[i + 3]!]!) | 0;
    if ((h & maskS) === 0) return i + 4 - start;
  }
  for (; i < normalEnd; i++) {
    h = ((h << 1) + gear[src[i]!]!) | 0;
    if ((h & maskS) === 0) return i + 1 - start;
  }
  const hardEnd = start + hardLen;
  for (; i + 4 <= hardEnd; i += 4) {
    h = ((h << 1) + gear[src[i]!]!) | 0;
    if ((h & maskL) === 0) return i + 1 - start;
    h = ((h << 1) + gear[src[i + 1]!]!) | 0;
    if ((h & maskL) === 0) return i + 2 - start;
    h = ((h << 1) + gear[src[i + 2]!]!) | 0;
    if ((h & maskL) === 0) return i + 3 - start;
    h = ((h << 1) + gear[src[i + 3]!]!) | 0;
    if ((h & maskL) === 0) return i + 4 - start;
  }
  for (; i < hardEnd; i++) {
    h = ((h << 1) + gear[src[i]!]!) | 0;
    if ((h & maskL) === 0) return i + 1 - start;
  }
  return hardLen;
}

/** Cut offsets (chunk ends, ascending, the last one = length) of a whole in-memory buffer. */
export function chunkBoundaries(data: Uint8Array, chunker: Chunker = createChunker()): number[] {
  // Re-wrap so a Buffer argument never reaches the hot loop.
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const cuts: number[] = [];
  let pos = 0;
  while (pos < src.length) {
    pos += cutLength(src, pos, src.length, chunker);
    cuts.push(pos);
  }
  return cuts;
}
