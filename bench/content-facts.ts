/** Facts the delta and fan-out benchmarks check their results with: file digests, chunk sets, rsync's stats. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { Manifest } from '../src/content/index.js';
import { MiB } from './timing.js';

/** SHA-256 of a file, read in 4 MiB pieces. */
export function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * MiB);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Every distinct chunk of a manifest with its size. */
export function uniqueChunks(m: Manifest): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of m.files) for (const c of f.chunks) out.set(c.id, c.size);
  return out;
}

/** A figure of `rsync --stats`: "Literal data: 4,194,304 bytes" → 4194304. */
export function rsyncStat(stats: string, label: string): number {
  const m = new RegExp(`^${label}: ([\\d,.]+)`, 'm').exec(stats);
  if (!m) throw new Error(`rsync --stats printed no "${label}" line:\n${stats}`);
  return Number(m[1]!.replace(/[,.]/g, ''));
}
