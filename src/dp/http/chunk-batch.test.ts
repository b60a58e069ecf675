import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeChunkBatch, encodeChunkBatch } from './chunk-batch.js';

const chunk = (text: string) => {
  const bytes = Buffer.from(text);
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
};

describe('chunk batch framing', () => {
  it('round-trips chunks, including an empty one, in order', () => {
    const chunks = [chunk('alpha'), chunk(''), chunk('x'.repeat(70_000))];
    const body = encodeChunkBatch(chunks);
    expect(body.length).toBe(3 * 36 + 5 + 70_000);
    expect(decodeChunkBatch(body).map((c) => [c.id, c.bytes.toString()])).toEqual(
      chunks.map((c) => [c.id, c.bytes.toString()]),
    );
    expect(decodeChunkBatch(Buffer.alloc(0))).toEqual([]);
  });

  it('refuses a body cut in a header or in a chunk, naming the offset', () => {
    const body = encodeChunkBatch([chunk('alpha'), chunk('beta')]);
    expect(() => decodeChunkBatch(body.subarray(0, 41 + 10))).toThrow(/cut off at byte 41/);
    expect(() => decodeChunkBatch(body.subarray(0, body.length - 1))).toThrow(/announces 4 bytes, 3 follow/);
    expect(() => encodeChunkBatch([{ id: 'nope', bytes: Buffer.alloc(1) }])).toThrow(/64 lowercase hex/);
  });
});
