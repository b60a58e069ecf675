import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createChunker, cutLength, GEAR, type Chunker } from './fastcdc.js';
import { blockBuffer, blockCutter, createBlockMemory } from './gear-wasm.js';

/** FastCDC's cut rule written plainly, one byte per step: what both the JS and the wasm loops must equal. */
function referenceCut(src: Uint8Array, start: number, end: number, c: Chunker): number {
  const remaining = end - start;
  if (remaining <= c.minSize) return remaining;
  const hard = Math.min(remaining, c.maxSize);
  let h = 0;
  for (let i = c.minSize; i < hard; i++) {
    h = (h * 2 + GEAR[src[start + i]!]!) | 0;
    if ((h & (i < c.avgSize ? c.maskS : c.maskL)) === 0) return i + 1;
  }
  return hard;
}

/** Random bytes with zero runs (cut at the maximum size) and a repeated stretch. */
function sample(length: number): Uint8Array {
  const data = new Uint8Array(randomBytes(length));
  data.fill(0, length / 4, length / 4 + 600_000);
  data.copyWithin(length / 2, 0, 300_000);
  return data;
}

function chainOf(cut: (start: number, end: number) => number, length: number, maxSize: number): number[] {
  const cuts: number[] = [];
  for (let pos = 0; pos < length;) {
    pos += cut(pos, Math.min(length, pos + maxSize));
    cuts.push(pos);
  }
  return cuts;
}

describe('WebAssembly gear cut', () => {
  const length = 4 * 1024 * 1024 + 12_345;
  const data = sample(length);
  const memory = createBlockMemory(length);
  new Uint8Array(blockBuffer(memory)).set(data);

  for (const [label, params] of [
    ['default 16/64/256 KiB', undefined],
    ['small 1/4/16 KiB (many cuts, both masks)', { minSize: 1024, avgSize: 4096, maxSize: 16384 }],
    ['tiny 64/128/1024 B (uneven unrolling tails)', { minSize: 64, avgSize: 128, maxSize: 1024 }],
  ] as const) {
    it(`cuts where the reference and the JS cutLength cut: ${label}`, () => {
      const chunker = createChunker(params);
      const wasm = blockCutter(memory, chunker);
      expect(wasm).toBeDefined();
      const expected = chainOf((s, e) => referenceCut(data, s, e, chunker), length, chunker.maxSize);
      expect(expected.length).toBeGreaterThan(length / chunker.maxSize);
      expect(chainOf((s, e) => wasm!.cutLength(s, e), length, chunker.maxSize)).toEqual(expected);
      expect(chainOf((s, e) => cutLength(data, s, e, chunker), length, chunker.maxSize)).toEqual(expected);
    });
  }

  it('agrees at arbitrary starts and short ends (the last chunk of a file)', () => {
    const chunker = createChunker();
    const wasm = blockCutter(memory, chunker)!;
    for (let k = 0; k < 300; k++) {
      const start = Math.floor(Math.random() * (length - 10));
      const end = Math.min(length, start + Math.floor(Math.random() * chunker.maxSize * 1.2));
      expect(wasm.cutLength(start, end)).toBe(referenceCut(data, start, end, chunker));
    }
  });

  it('refuses a range outside the block instead of reading the Gear table as data', () => {
    const wasm = blockCutter(memory, createChunker())!;
    const dataBytes = blockBuffer(memory).byteLength - GEAR.length * 4;
    expect(() => wasm.cutLength(0, dataBytes + 1)).toThrow(RangeError);
    expect(() => wasm.cutLength(10, 5)).toThrow(RangeError);
  });
});
