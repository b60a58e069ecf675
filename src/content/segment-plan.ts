/**
 * How a file is split into segment tasks for parallel chunking (chunk-file.ts). Without forced cuts:
 * fixed `segmentBytes` pieces, every chain running to the end of the file. With forced cuts (e.g. a WIM's
 * resource boundaries, wim-boundaries.ts) each region between cuts is chunked as if it were a file of its
 * own: its pieces' chains end at the region's end (`dataEnd`), and the next region starts a fresh chain.
 * A region that starts at one of `wholeFrom` and is no longer than the chunker's maximum chunk is one chunk
 * (a run of whole compression chunks: FastCDC inside it would only add cuts that help no delta).
 */
import { SitecastError } from '../kernel/index.js';

/** Forced boundaries of one file. */
export interface ForcedCuts {
  /** Ascending offsets inside (0, size): each ends one chain and starts the next. */
  readonly cuts: readonly number[];
  /** Region starts (0 or cuts) whose region, if no longer than wholeMaxBytes, is one chunk. */
  readonly wholeFrom: readonly number[];
  /** At most the chunker's maximum chunk size. */
  readonly wholeMaxBytes: number;
}

export const NO_FORCED_CUTS: ForcedCuts = { cuts: [], wholeFrom: [], wholeMaxBytes: 0 };

export interface PlannedSegment {
  readonly start: number;
  /** Chains of this segment continue while the chunk start is before `end`. */
  readonly end: number;
  /** No chunk of this segment's chain reaches past this: the end of its region (or of the file). */
  readonly dataEnd: number;
  /** The segment is one chunk, [start, dataEnd). */
  readonly whole: boolean;
}

export function planSegments(
  size: number,
  segmentBytes: number,
  forced: ForcedCuts = NO_FORCED_CUTS,
): PlannedSegment[] {
  const { cuts, wholeMaxBytes } = forced;
  let previous = 0;
  for (const c of cuts) {
    if (!Number.isSafeInteger(c) || c <= previous || c >= size) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `forced chunk cuts must be ascending integers inside (0, ${size}); got ${c} after ${previous}`,
        { field: 'cuts' },
      );
    }
    previous = c;
  }
  const wholeFrom = new Set(forced.wholeFrom);
  const plan: PlannedSegment[] = [];
  const bounds = [0, ...cuts, size];
  for (let r = 0; r + 1 < bounds.length; r++) {
    const regionStart = bounds[r]!;
    const regionEnd = bounds[r + 1]!;
    if (wholeFrom.has(regionStart) && regionEnd - regionStart <= wholeMaxBytes) {
      plan.push({ start: regionStart, end: regionEnd, dataEnd: regionEnd, whole: true });
      continue;
    }
    for (let s = regionStart; s < regionEnd; s += segmentBytes) {
      plan.push({ start: s, end: Math.min(regionEnd, s + segmentBytes), dataEnd: regionEnd, whole: false });
    }
  }
  return plan;
}
