/**
 * The binary body of `POST /dp/v1/chunks/batch`: the chunks one after another, each as
 * `[32-byte raw SHA-256 id][u32 big-endian length][length bytes]`, nothing before, between or after.
 * Content-Type `application/octet-stream`. A body that does not split exactly into such records is refused
 * whole (INVALID_PARAMETER naming the byte offset), so a cut-off upload never stores a partial chunk.
 */
import { SitecastError } from '../../kernel/index.js';
import type { DpChunk } from '../dp-adapter.js';

const ID_BYTES = 32;
const HEADER_BYTES = ID_BYTES + 4;

/** Bytes the framing adds per chunk. */
export const CHUNK_FRAME_OVERHEAD = HEADER_BYTES;

export function encodeChunkBatch(chunks: readonly DpChunk[]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    if (!/^[0-9a-f]{64}$/.test(chunk.id)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `chunk id ${JSON.stringify(chunk.id)} must be 64 lowercase hex digits`,
        {
          field: 'id',
        },
      );
    }
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.write(chunk.id, 0, ID_BYTES, 'hex');
    header.writeUInt32BE(chunk.bytes.length, ID_BYTES);
    parts.push(header, chunk.bytes);
  }
  return Buffer.concat(parts);
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
