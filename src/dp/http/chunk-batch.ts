/**
 * The binary body of `POST /dp/v1/chunks/batch`: the chunks one after another, each as
 * `[32-byte raw SHA-256 id][u32 big-endian length][length bytes]`, nothing before, between or after.
 * Content-Type `application/octet-stream`. A body that does not split exactly into such records is refused
 * whole (INVALID_PARAMETER naming the byte offset), so a cut-off upload never stores a partial chunk.
 *
 * The site signs the batch's frame headers, not its bytes (`chunkFramesDigest`, signing mode
 * `chunk-frames-v1` in ../auth): the agent hashes every chunk against its id before storing any, so a
 * changed byte is HASH_MISMATCH there, and a changed, added, dropped or reordered frame fails the signature.
 */
import { createHash } from 'node:crypto';
import { SitecastError } from '../../kernel/index.js';
import type { DpChunk } from '../dp-adapter.js';

const ID_BYTES = 32;
const HEADER_BYTES = ID_BYTES + 4;

/** Bytes the framing adds per chunk. */
export const CHUNK_FRAME_OVERHEAD = HEADER_BYTES;

/** Prefix of the hashed frame headers: a frame digest cannot equal the SHA-256 of any chunk batch body. */
const FRAMES_DOMAIN = Buffer.from('sitecast-chunk-frames-v1\0');

/** One frame header: the chunk's id and byte length. */
export interface ChunkFrame {
  readonly id: string;
  readonly length: number;
}

/**
 * SHA-256 (hex) of `sitecast-chunk-frames-v1\0` followed by each frame header in order (32-byte id,
 * u32 big-endian length) — exactly the headers of the batch body, without the chunk bytes.
 */
export function chunkFramesDigest(frames: readonly ChunkFrame[]): string {
  const headers = Buffer.allocUnsafe(frames.length * HEADER_BYTES);
  frames.forEach((f, i) => writeHeader(headers, i * HEADER_BYTES, f.id, f.length));
  return createHash('sha256').update(FRAMES_DOMAIN).update(headers).digest('hex');
}

export function encodeChunkBatch(chunks: readonly DpChunk[]): Buffer {
  return Buffer.concat(chunkBatchParts(chunks));
}

/**
 * The batch body as the pieces it is made of (each frame header, then the chunk's own bytes, not copied):
 * written one after another they are `encodeChunkBatch(chunks)`. All headers share one allocation.
 */
export function chunkBatchParts(chunks: readonly DpChunk[]): Buffer[] {
  const headers = Buffer.allocUnsafe(chunks.length * HEADER_BYTES);
  const parts: Buffer[] = [];
  chunks.forEach((chunk, i) => {
    const at = i * HEADER_BYTES;
    writeHeader(headers, at, chunk.id, chunk.bytes.length);
    parts.push(headers.subarray(at, at + HEADER_BYTES), chunk.bytes);
  });
  return parts;
}

function writeHeader(target: Buffer, at: number, id: string, length: number): void {
  if (!/^[0-9a-f]{64}$/.test(id)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `chunk id ${JSON.stringify(id)} must be 64 lowercase hex digits`,
      {
        field: 'id',
      },
    );
  }
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `chunk ${id}: length ${length} does not fit a frame header`,
      {
        field: 'length',
        id,
      },
    );
  }
  target.write(id, at, ID_BYTES, 'hex');
  target.writeUInt32BE(length, at + ID_BYTES);
}

/** The chunks of a batch body (views into `body`, not copies). */
export function decodeChunkBatch(body: Buffer): DpChunk[] {
  const chunks: DpChunk[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < HEADER_BYTES) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `chunk batch body is cut off at byte ${offset}: a ${HEADER_BYTES}-byte record header (id + length) was expected`,
        { field: 'body', offset },
      );
    }
    const id = body.toString('hex', offset, offset + ID_BYTES);
    const length = body.readUInt32BE(offset + ID_BYTES);
    const start = offset + HEADER_BYTES;
    if (body.length - start < length) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `chunk batch body is cut off: chunk ${id} at byte ${offset} announces ${length} bytes, ${body.length - start} follow`,
        { field: 'body', offset, id },
      );
    }
    chunks.push({ id, bytes: body.subarray(start, start + length) });
    offset = start + length;
  }
  return chunks;
}

/** The answer to `POST /dp/v1/chunks/read`: the chunks found, their batch body, and how many were not. */
export interface ChunkReadAnswer {
  readonly chunks: DpChunk[];
  readonly missing: number;
  /** The batch body as its pieces (`chunkBatchParts`: not joined, a join would copy every chunk). */
  readonly parts: Buffer[];
  readonly length: number;
}

/**
 * Reads the chunks `ids` names (in that order) with `read` (null: not held) into one batch body. Once the
 * body holds `maxBytes`, the ids left are answered as missing: the reader asks for them again.
 */
export async function readChunkAnswer(
  ids: readonly string[],
  read: (id: string) => Promise<Buffer | null>,
  maxBytes: number,
): Promise<ChunkReadAnswer> {
  const chunks: DpChunk[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    if (chunks.length > 0 && bytes >= maxBytes) break;
    const chunk = await read(id);
    if (chunk === null) continue;
    chunks.push({ id, bytes: chunk });
    bytes += chunk.length;
  }
  const parts = chunkBatchParts(chunks);
  const length = parts.reduce((n, p) => n + p.length, 0);
  return { chunks, missing: new Set(ids).size - chunks.length, parts, length };
}
