/**
 * On-disk format of pack files. A pack (`<seq>.pack`) is the plain concatenation of chunk bytes; its index
 * (`<seq>.idx`) lists where each chunk lives and is the pack's commit record: a pack exists only once its
 * index does.
 *
 * Index layout (little endian):
 *   0  magic "SCPKIDX1" (8)   8  record count u32   12  reserved u32 (0)   16  pack size u64
 *   24 records, 44 bytes each: chunk id (32 raw bytes), offset u64, length u32
 *   end: SHA-256 of every byte before it (32)
 */
import { hash } from 'node:crypto';
import { SitecastError } from '../kernel/index.js';

export const INDEX_MAGIC = Buffer.from('SCPKIDX1', 'latin1');
export const INDEX_HEADER_BYTES = 24;
export const INDEX_RECORD_BYTES = 44;
export const INDEX_TRAILER_BYTES = 32;
/** Largest chunk a pack accepts; FastCDC's maximum is 256 KiB, so this only stops nonsense. */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

const chunkIdPattern = /^[0-9a-f]{64}$/;
const packNamePattern = /^(\d{12})\.(pack|idx)(\.tmp)?$/;

export interface IndexRecord {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
}

export interface DecodedIndex {
  readonly packSize: number;
  readonly records: IndexRecord[];
}

export function isChunkId(id: unknown): id is string {
  return typeof id === 'string' && chunkIdPattern.test(id);
}

export function assertChunkId(id: unknown, field = 'id'): asserts id is string {
  if (!isChunkId(id)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `chunk ${field} ${JSON.stringify(id)} is not 64 lowercase hex digits`,
      { field },
    );
  }
}

export function sha256Of(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'hex');
}

export function packFileName(seq: number): string {
  return `${String(seq).padStart(12, '0')}.pack`;
}

export function indexFileName(seq: number): string {
  return `${String(seq).padStart(12, '0')}.idx`;
}

/** Parses a file name of the packs directory; null for names the store does not own. */
export function parsePackFileName(
  name: string,
): { readonly seq: number; readonly kind: 'pack' | 'idx'; readonly temp: boolean } | null {
  const m = packNamePattern.exec(name);
  if (!m) return null;
  return { seq: Number(m[1]), kind: m[2] as 'pack' | 'idx', temp: m[3] !== undefined };
}

export function encodeIndex(records: readonly IndexRecord[], packSize: number): Buffer {
  const body = INDEX_HEADER_BYTES + records.length * INDEX_RECORD_BYTES;
  const buf = Buffer.allocUnsafe(body + INDEX_TRAILER_BYTES);
  INDEX_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(records.length, 8);
  buf.writeUInt32LE(0, 12);
  writeU64(buf, packSize, 16);
  let at = INDEX_HEADER_BYTES;
  for (const r of records) {
    buf.write(r.id, at, 32, 'hex');
    writeU64(buf, r.offset, at + 32);
    buf.writeUInt32LE(r.length, at + 40);
    at += INDEX_RECORD_BYTES;
  }
  hashInto(buf.subarray(0, body), buf, body);
  return buf;
}

/** Decodes and checks an index; CORRUPT_DATA naming `fileName` when anything is off. */
export function decodeIndex(buf: Buffer, fileName: string): DecodedIndex {
  const corrupt = (why: string): SitecastError =>
    new SitecastError('CORRUPT_DATA', `pack index ${fileName} is corrupt: ${why}`, { path: fileName });
  if (buf.length < INDEX_HEADER_BYTES + INDEX_TRAILER_BYTES) throw corrupt(`only ${buf.length} bytes`);
  if (!buf.subarray(0, 8).equals(INDEX_MAGIC)) throw corrupt('bad magic');
  const count = buf.readUInt32LE(8);
  const body = INDEX_HEADER_BYTES + count * INDEX_RECORD_BYTES;
  if (buf.length !== body + INDEX_TRAILER_BYTES) {
    throw corrupt(`${buf.length} bytes, expected ${body + INDEX_TRAILER_BYTES} for ${count} records`);
  }
  const expected = Buffer.allocUnsafe(INDEX_TRAILER_BYTES);
  hashInto(buf.subarray(0, body), expected, 0);
  if (!expected.equals(buf.subarray(body))) throw corrupt('checksum mismatch');
  const packSize = readU64(buf, 16);
  const records: IndexRecord[] = new Array<IndexRecord>(count);
  let at = INDEX_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const offset = readU64(buf, at + 32);
    const length = buf.readUInt32LE(at + 40);
    if (offset + length > packSize) throw corrupt(`record ${i} ends past the pack's ${packSize} bytes`);
    records[i] = { id: buf.toString('hex', at, at + 32), offset, length };
    at += INDEX_RECORD_BYTES;
  }
  return { packSize, records };
}

function hashInto(data: Buffer, target: Buffer, at: number): void {
  target.set(hash('sha256', data, 'buffer'), at);
}

// Two u32 halves instead of BigInt: offsets stay far below 2^53 and this avoids a BigInt per record.
function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, at);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
}
