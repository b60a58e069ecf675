import { describe, expect, it } from 'vitest';
import { fastPseudoRandomBytes } from './chunking.test-helpers.js';
import {
  DEFAULT_CHUNK_CUTS,
  parseChunkTable,
  selectChunkCuts,
  selectResourceCuts,
  windowBefore,
  type CompressedLayout,
} from './wim-boundaries-select.js';

const KiB = 1024;
const chunkSize = 32 * KiB;

/** Stored sizes of `n` compression chunks, 8–32 KiB (some stored as is: exactly 32 KiB), from a seed. */
function chunkSizes(n: number, seed: number): number[] {
  const r = fastPseudoRandomBytes(n * 2, seed);
  return Array.from({ length: n }, (_, i) => (r[2 * i]! < 40 ? chunkSize : 8 * KiB + r[2 * i + 1]! * 96));
}

/** A resource at `dataStart` made of compressed chunks `bytes` (one Uint8Array per compression chunk). */
function layoutOf(dataStart: number, bytes: readonly Uint8Array[]): CompressedLayout {
  const boundaries: number[] = [];
  let at = dataStart;
  for (const b of bytes.slice(0, -1)) boundaries.push((at += b.length));
  return { dataStart, dataEnd: at + bytes.at(-1)!.length, boundaries };
}

/** The selection over `bytes` laid out from dataStart, reading windows from the chunk bytes themselves. */
function select(dataStart: number, bytes: readonly Uint8Array[]): number[] {
  const layout = layoutOf(dataStart, bytes);
  const file = new Uint8Array(layout.dataEnd - dataStart);
  let at = 0;
  for (const b of bytes) {
    file.set(b, at);
    at += b.length;
  }
  return selectChunkCuts(layout, (k) => {
    const w = windowBefore(layout, k, DEFAULT_CHUNK_CUTS);
    return file.subarray(w.offset - dataStart, w.end - dataStart);
  });
}

function compressedChunks(n: number, seed: number): Uint8Array[] {
  return chunkSizes(n, seed).map((s, i) => fastPseudoRandomBytes(s, seed * 100_000 + i));
}

describe('parseChunkTable', () => {
  function table(entries: readonly number[], bytes: 4 | 8 = 4): Uint8Array {
    const t = Buffer.alloc(entries.length * bytes);
    entries.forEach((e, i) =>
      bytes === 4 ? t.writeUInt32LE(e, i * 4) : t.writeBigUInt64LE(BigInt(e), i * 8),
    );
    return t;
  }

  it('turns chunk start offsets into file offsets, with 4- and 8-byte entries', () => {
    const want = { dataStart: 1000, dataEnd: 1000 + 70_000, boundaries: [1000 + 20_000, 1000 + 50_000] };
    expect(parseChunkTable(table([20_000, 50_000]), 4, 1000, 71_000, chunkSize)).toEqual(want);
    expect(parseChunkTable(table([20_000, 50_000], 8), 8, 1000, 71_000, chunkSize)).toEqual(want);
  });

  it('rejects a table that does not add up: not ascending, a chunk over the chunk size, past the end', () => {
    expect(parseChunkTable(table([20_000, 20_000]), 4, 0, 70_000, chunkSize)).toBeUndefined();
    expect(parseChunkTable(table([30_000, 20_000]), 4, 0, 70_000, chunkSize)).toBeUndefined();
    expect(parseChunkTable(table([40_000]), 4, 0, 50_000, chunkSize)).toBeUndefined();
    expect(parseChunkTable(table([20_000]), 4, 0, 20_000, chunkSize)).toBeUndefined();
    expect(parseChunkTable(table([20_000]), 4, 0, 20_000 + chunkSize + 1, chunkSize)).toBeUndefined();
    expect(parseChunkTable(new Uint8Array(7), 4, 0, 70_000, chunkSize)).toBeUndefined();
    const garbage = fastPseudoRandomBytes(4000, 3);
    expect(parseChunkTable(garbage, 4, 0, 1001 * chunkSize, chunkSize)).toBeUndefined();
  });
});

describe('selectChunkCuts', () => {
  const chunks = compressedChunks(2000, 1);
  const cuts = select(500, chunks);
  const layout = layoutOf(500, chunks);

  it('picks a subset of the compression-chunk boundaries, never closer than the minimum', () => {
    const boundaries = new Set(layout.boundaries);
    for (const c of cuts) expect(boundaries.has(c)).toBe(true);
    const edges = [layout.dataStart, ...cuts, layout.dataEnd];
    for (let i = 1; i < edges.length; i++) {
      expect(edges[i]! - edges[i - 1]!).toBeGreaterThanOrEqual(DEFAULT_CHUNK_CUTS.minBytes);
    }
  });

  it('cuts about once per 64 KiB of stored data', () => {
    const mean = (layout.dataEnd - layout.dataStart) / (cuts.length + 1);
    expect(mean).toBeGreaterThan(48 * KiB);
    expect(mean).toBeLessThan(80 * KiB);
  });

  it('is deterministic, and gives an unchanged run the same cuts wherever it moved', () => {
    expect(select(500, chunks)).toEqual(cuts);
    // v2: the resource starts elsewhere, and chunks 300..309 were rewritten (other sizes and bytes).
    const changed = compressedChunks(10, 2);
    const v2 = [...chunks.slice(0, 300), ...changed, ...chunks.slice(310)];
    const shift = 123_457;
    const cuts2 = select(500 + shift, v2);
    const v1At = (i: number): number => layoutOf(500, chunks).boundaries[i - 1]!;
    const v2At = (i: number): number => layoutOf(500 + shift, v2).boundaries[i - 1]!;
    // Cuts before the change: the same, shifted. After it (past the minimum's reach): the same relative
    // to the end of the change.
    const before = (cs: number[], end: number): number[] => cs.filter((c) => c < end);
    expect(before(cuts2, v2At(300)).map((c) => c - shift)).toEqual(before(cuts, v1At(300)));
    const from = (cs: number[], at: number): number[] =>
      cs.filter((c) => c >= at + DEFAULT_CHUNK_CUTS.minBytes).map((c) => c - at);
    expect(from(cuts2, v2At(310))).toEqual(from(cuts, v1At(310)));
  });

  it('ignores runs of incompressible chunks by their size alone: their bytes decide', () => {
    const raw = Array.from({ length: 400 }, (_, i) => fastPseudoRandomBytes(chunkSize, 9000 + i));
    const rawCuts = select(0, raw);
    expect(rawCuts.length).toBeGreaterThan(400 / 4);
    expect(rawCuts.length).toBeLessThan(400 / 1.2);
  });
});

describe('selectResourceCuts', () => {
  const small = Array.from({ length: 3000 }, (_, i) => {
    const size = 200 + ((i * 7919) % (40 * KiB));
    return { size, sha1: fastPseudoRandomBytes(20, 50_000 + i) };
  });
  const laidOut = (
    start: number,
    list: typeof small,
  ): { end: number; storedSize: number; sha1: Uint8Array }[] => {
    let at = start;
    return list.map((r) => ({ end: (at += r.size), storedSize: r.size, sha1: r.sha1 }));
  };

  it('cuts at some resource ends, spaced by the minimum from each other and from forced cuts', () => {
    const resources = laidOut(1000, small);
    const forced = [1000, resources.at(-1)!.end];
    const cuts = selectResourceCuts(resources, forced);
    const ends = new Set(resources.map((r) => r.end));
    for (const c of cuts) expect(ends.has(c)).toBe(true);
    const edges = [...forced, ...cuts].sort((a, b) => a - b);
    for (let i = 1; i < edges.length; i++) {
      expect(edges[i]! - edges[i - 1]!).toBeGreaterThanOrEqual(DEFAULT_CHUNK_CUTS.minBytes);
    }
    const mean = (forced[1]! - forced[0]!) / (cuts.length + 1);
    expect(mean).toBeGreaterThan(40 * KiB);
    expect(mean).toBeLessThan(96 * KiB);
  });

  it('keeps its cuts relative to the streams when one stream is removed before them', () => {
    const v1 = laidOut(1000, small);
    const v2 = laidOut(1000, [...small.slice(0, 100), ...small.slice(101)]);
    const cuts1 = selectResourceCuts(v1, [1000, v1.at(-1)!.end]);
    const cuts2 = selectResourceCuts(v2, [1000, v2.at(-1)!.end]);
    const gone = small[100]!.size;
    const after = v1[101]!.end + DEFAULT_CHUNK_CUTS.minBytes;
    expect(cuts2.filter((c) => c + gone >= after).map((c) => c + gone)).toEqual(
      cuts1.filter((c) => c >= after),
    );
  });
});
