/**
 * casync as a delta peer: `casync make` v1 and v2 of a file into one chunk store; the chunks of v2's index
 * that v1's index lacks are what `casync extract --seed=v1` must fetch (the seed supplies the rest). Verified
 * by an actual seeded extract from a store holding only those chunks. Sizes both as chunk data (from the
 * .caibx) and as stored .cacnk files (zstd-compressed: what would travel over HTTP), plus the index itself.
 */
import { createHash } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runTimed } from './peers.js';

export interface CasyncDelta {
  readonly v2Chunks: number;
  readonly fetchChunks: number;
  /** Uncompressed bytes of the chunks to fetch. */
  readonly fetchBytes: number;
  /** Bytes of their .cacnk files in the store (compressed). */
  readonly fetchStoredBytes: number;
  /** Size of v2's .caibx, which the client needs too. */
  readonly indexBytes: number;
  /** The seeded extract from a store of only the fetched chunks equals v2. */
  readonly verified: boolean;
  readonly makeMs: number;
  readonly extractMs: number;
}

interface IndexEntry {
  readonly id: string;
  readonly size: number;
}

/** Chunk list of a casync blob index (.caibx): 48-byte index header, 16-byte table header, 40-byte items. */
export function readCaibx(path: string): IndexEntry[] {
  const buf = readFileSync(path);
  const out: IndexEntry[] = [];
  let previous = 0;
  for (let o = 64; o + 40 <= buf.length; o += 40) {
    const end = Number(buf.readBigUInt64LE(o));
    if (end === 0) break; // the table tail starts with zero fill
    out.push({ id: buf.toString('hex', o + 8, o + 40), size: end - previous });
    previous = end;
  }
  if (out.length === 0) throw new Error(`${path}: no chunks found in the casync index`);
  return out;
}

function chunkFile(store: string, id: string): string {
  return join(store, id.slice(0, 4), `${id}.cacnk`);
}

function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export async function casyncDelta(dir: string, v1: string, v2: string): Promise<CasyncDelta> {
  const store = join(dir, 'store');
  const i1 = join(dir, 'v1.caibx');
  const i2 = join(dir, 'v2.caibx');
  mkdirSync(dir, { recursive: true });
  const make1 = await runTimed('casync', ['make', `--store=${store}`, i1, v1]);
  const make2 = await runTimed('casync', ['make', `--store=${store}`, i2, v2]);
  const have = new Set(readCaibx(i1).map((c) => c.id));
  const want = new Map<string, number>();
  for (const c of readCaibx(i2)) if (!have.has(c.id)) want.set(c.id, c.size);
  const v2Chunks = new Set(readCaibx(i2).map((c) => c.id)).size;

  // A store of only the chunks v1 lacks: the seeded extract must succeed from it alone.
  const partial = join(dir, 'partial-store');
  let stored = 0;
  for (const id of want.keys()) {
    mkdirSync(join(partial, id.slice(0, 4)), { recursive: true });
    linkSync(chunkFile(store, id), chunkFile(partial, id));
    stored += statSync(chunkFile(store, id)).size;
  }
  const out = join(dir, 'extracted.wim');
  let verified: boolean;
  let extractMs = 0;
  try {
    const x = await runTimed('casync', ['extract', `--store=${partial}`, `--seed=${v1}`, i2, out]);
    extractMs = x.wallMs;
    verified = sha256File(out) === sha256File(v2);
  } catch {
    // A chunk the seed could not supply and the partial store lacks: the fetch set was incomplete.
    verified = false;
  }
  return {
    v2Chunks,
    fetchChunks: want.size,
    fetchBytes: [...want.values()].reduce((a, b) => a + b, 0),
    fetchStoredBytes: stored,
    indexBytes: statSync(i2).size,
    verified,
    makeMs: make1.wallMs + make2.wallMs,
    extractMs,
  };
}
