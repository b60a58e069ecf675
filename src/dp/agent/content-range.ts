/**
 * The `Range` request header (RFC 9110 §14.1–14.2) for one file of known size. Only the `bytes` unit exists
 * here; anything the grammar does not allow makes the whole header ignored (a full 200), as the RFC says.
 */

/** Inclusive byte offsets, as in `Content-Range`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeRequest =
  /** No Range, a malformed one, an unknown unit or too many parts: answer the whole file. */
  | { readonly kind: 'ignore' }
  /** Well-formed, but no part overlaps the file: 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

/**
 * More parts than this and the header is ignored: a request of thousands of tiny ranges costs the DP far
 * more than the bytes it asks for (Apache's MaxRanges does the same).
 */
export const MAX_RANGES = 64;

const intRange = /^(\d+)-(\d*)$/;
const suffixRange = /^-(\d+)$/;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'ignore' };
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'ignore' };
  // `1#range-spec`: empty list elements are allowed and skipped (RFC 9110 §5.6.1.2).
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: 'ignore' };
  // An empty file has no byte to point at; serving it whole is what clients expect.
  if (size === 0) return { kind: 'ignore' };

  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const int = intRange.exec(spec);
    if (int) {
      const first = Number(int[1]);
      const last = int[2] === '' ? Infinity : Number(int[2]);
      if (last < first) return { kind: 'ignore' }; // invalid range-spec: the whole header is invalid
      if (first < size) ranges.push({ start: first, end: Math.min(last, size - 1) });
      continue;
    }
    const suffix = suffixRange.exec(spec);
    if (suffix) {
      const length = Number(suffix[1]);
      if (length > 0) ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    return { kind: 'ignore' };
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: coalesceOverlaps(ranges) };
}

/**
 * Overlapping parts are merged (RFC 9110 allows it) so `bytes=0-,0-,0-…` cannot multiply the bytes sent;
 * parts that do not overlap keep the order the client asked for.
 */
function coalesceOverlaps(ranges: readonly ByteRange[]): readonly ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const overlapping = sorted.some((r, i) => i > 0 && r.start <= sorted[i - 1]!.end);
  if (!overlapping) return ranges;
  const merged: ByteRange[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end)
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else merged.push(r);
  }
  return merged;
}

export function contentRangeHeader(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
