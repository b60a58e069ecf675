import { describe, expect, it } from 'vitest';
import { SitecastError } from '../kernel/index.js';
import { chunkBoundaries, createChunker, DEFAULT_CHUNKING, GEAR } from './fastcdc.js';
import { pseudoRandomBytes } from './chunking.test-helpers.js';
import { sha256Hex } from './manifest.js';

function chunkIds(data: Uint8Array): string[] {
  let prev = 0;
  return chunkBoundaries(data).map((cut) => sha256Hex(data.subarray(prev, (prev = cut))));
}

describe('FastCDC', () => {
  it('keeps the golden boundaries of a fixed pseudo-random input (changing them orphans every stored chunk)', () => {
    const data = pseudoRandomBytes(3 * 1024 * 1024, 0x5eed);
    expect(chunkBoundaries(data)).toEqual([
      100207, 176099, 251599, 278293, 353061, 396731, 465009, 497945, 564787, 637033, 719600, 793347, 813429,
      889077, 986887, 1062294, 1160478, 1231993, 1320068, 1390889, 1479251, 1545591, 1625448, 1709965,
      1774485, 1840770, 1864303, 1965049, 2034276, 2059290, 2124846, 2204846, 2258428, 2343112, 2409584,
      2478769, 2563430, 2681455, 2748024, 2823594, 2893084, 2959903, 2987738, 3057568, 3137082, 3145728,
    ]);
    const small = createChunker({ minSize: 1024, avgSize: 4096, maxSize: 16384 });
    expect(chunkBoundaries(data, small).slice(0, 20)).toEqual([
      4779, 9040, 11525, 17077, 22752, 26986, 29700, 34253, 40632, 44946, 52263, 57538, 60565, 65168, 69303,
      74263, 79182, 85571, 89687, 94946,
    ]);
  });

  it('derives its Gear table from SHA-256 of the index', () => {
    expect(GEAR.length).toBe(256);
    expect([GEAR[0], GEAR[1], GEAR[255]]).toEqual([583920457, 1076031040, 1331912503]);
    expect(new Set(GEAR).size).toBe(256);
  });

  it('cuts chunks between min and max size, the last one possibly shorter, covering the input', () => {
    const data = pseudoRandomBytes(8 * 1024 * 1024, 42);
    const cuts = chunkBoundaries(data);
    expect(cuts.at(-1)).toBe(data.length);
    let prev = 0;
    for (const [i, cut] of cuts.entries()) {
      const size = cut - prev;
      expect(size).toBeLessThanOrEqual(DEFAULT_CHUNKING.maxSize);
      if (i < cuts.length - 1) expect(size).toBeGreaterThanOrEqual(DEFAULT_CHUNKING.minSize);
      prev = cut;
    }
    const avg = data.length / cuts.length;
    expect(avg).toBeGreaterThan(48 * 1024);
    expect(avg).toBeLessThan(96 * 1024);
  });

  it('cuts a long zero run at maxSize and handles tiny and empty inputs', () => {
    expect(chunkBoundaries(new Uint8Array(0))).toEqual([]);
    expect(chunkBoundaries(new Uint8Array(100))).toEqual([100]);
    const zeros = chunkBoundaries(new Uint8Array(1024 * 1024 + 5));
    expect(zeros).toEqual([262144, 524288, 786432, 1048576, 1048581]);
  });

  it('resynchronises after an insertion: only chunks around the edit change', () => {
    const data = pseudoRandomBytes(4 * 1024 * 1024, 7);
    const edited = new Uint8Array(data.length + 10);
    const at = 2 * 1024 * 1024;
    edited.set(data.subarray(0, at));
    edited.set(data.subarray(at), at + 10);
    const before = new Set(chunkIds(data));
    const after = chunkIds(edited);
    const added = after.filter((id) => !before.has(id));
    expect(added.length).toBeGreaterThanOrEqual(1);
    expect(added.length).toBeLessThanOrEqual(2);
    expect(after.length - added.length).toBeGreaterThan(40);
  });

  it('rejects bad parameters naming the field', () => {
    expect(() => createChunker({ minSize: 1024, avgSize: 3000, maxSize: 8192 })).toThrow(/avgSize/);
    expect(() => createChunker({ minSize: 9000, avgSize: 8192, maxSize: 16384 })).toThrow(SitecastError);
    expect(() => createChunker({ minSize: 0, avgSize: 8192, maxSize: 16384 })).toThrow(/minSize/);
  });
});
