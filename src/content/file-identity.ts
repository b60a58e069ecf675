import type { BigIntStats } from 'node:fs';

/** Two stats of a path describe the same, unchanged file: what "did not change while read" means. */
export function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return (
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.ino === b.ino &&
    a.dev === b.dev
  );
}
