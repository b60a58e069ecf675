/**
 * How a file is split into segment tasks for parallel chunking (chunk-file.ts). Without forced cuts:
 * fixed `segmentBytes` pieces, every chain running to the end of the file. With forced cuts (e.g. a WIM's
 * resource boundaries, wim-boundaries.ts) each region between cuts is chunked as if it were a file of its
 * own: its pieces' chains end at the region's end (`dataEnd`), and the next region starts a fresh chain.
 */
import { SitecastError } from '../kernel/index.js';

export interface PlannedSegment {
  readonly start: number;
  /** Chains of this segment continue while the chunk start is before `end`. */
  readonly end: number;
  /** No chunk of this segment's chain reaches past this: the end of its region (or of the file). */
  readonly dataEnd: number;
}

export function planSegments(
  size: number,
  segmentBytes: number,
  cuts: readonly number[] = [],
): PlannedSegment[] {
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
  const plan: PlannedSegment[] = [];
  const bounds = [0, ...cuts, size];
  for (let r = 0; r + 1 < bounds.length; r++) {
    const regionEnd = bounds[r + 1]!;
    for (let s = bounds[r]!; s < regionEnd; s += segmentBytes) {
      plan.push({ start: s, end: Math.min(regionEnd, s + segmentBytes), dataEnd: regionEnd });
    }
  }
  return plan;
}
