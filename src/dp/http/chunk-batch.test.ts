import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkFramesDigest, decodeChunkBatch, encodeChunkBatch } from './chunk-batch.js';

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

  it('digests the frame headers in order, and never as the SHA-256 of a body', () => {
    const chunks = [chunk('alpha'), chunk('beta')];
    const frames = chunks.map((c) => ({ id: c.id, length: c.bytes.length }));
    const digest = chunkFramesDigest(frames);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    // What is hashed: the domain tag, then exactly the body's record headers.
    const body = encodeChunkBatch(chunks);
    const headers = Buffer.concat([body.subarray(0, 36), body.subarray(36 + 5, 36 + 5 + 36)]);
    const tagged = Buffer.concat([Buffer.from('sitecast-chunk-frames-v1\0'), headers]);
    expect(digest).toBe(createHash('sha256').update(tagged).digest('hex'));
    expect(digest).not.toBe(createHash('sha256').update(headers).digest('hex'));
    expect(chunkFramesDigest([...frames].reverse())).not.toBe(digest);
    expect(chunkFramesDigest([frames[0]!, { ...frames[1]!, length: 5 }])).not.toBe(digest);
    expect(chunkFramesDigest([])).not.toBe(chunkFramesDigest(frames.slice(0, 1)));
    expect(() => chunkFramesDigest([{ id: 'A'.repeat(64), length: 1 }])).toThrow(/64 lowercase hex/);
    expect(() => chunkFramesDigest([{ id: frames[0]!.id, length: -1 }])).toThrow(/frame header/);
  });
});
