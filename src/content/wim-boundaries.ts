/**
 * Forced chunk boundaries for a WIM file: the start and end of every large resource (file stream, image
 * metadata) listed in its blob table, and of the blob table, XML data and integrity table themselves.
 *
 * Why: a re-captured WIM keeps unchanged streams byte-identical but moves them. Plain content-defined
 * chunking loses, at every changed stream, the chunk that straddles changed and unchanged bytes (and the
 * next stream's first chunk with it); cutting at resource boundaries first keeps the damage inside the
 * changed stream (see /work/shared/reference/wim.md, "Cutting at WIM resource boundaries"). FastCDC still
 * runs inside each region, so chunks stay content-addressed byte ranges of the file: the manifest format
 * does not change, only where some cuts land.
 *
 * Anything odd (not a WIM, pipable, solid, compressed or out-of-range blob table) means "no forced cuts":
 * the file is then chunked exactly as any other file. Never an error: the bytes are what they are.
 */
import { open } from 'node:fs/promises';
import { parseWimHeader, type WimHeader } from '../wim/index.js';

export interface WimCutOptions {
  /**
   * Resources whose stored size is below this get no cuts of their own: runs of small streams are left to
   * FastCDC (a cut per tiny stream would multiply chunks and manifest bytes for little gain).
   */
  readonly minResourceBytes?: number;
  /** A blob table larger than this is not read (50 bytes per stream: 64 MiB ≈ 1.3 million streams). */
  readonly maxBlobTableBytes?: number;
}

/** Default for WimCutOptions.minResourceBytes: the chunker's average chunk size. */
export const DEFAULT_MIN_RESOURCE_BYTES = 64 * 1024;
const DEFAULT_MAX_BLOB_TABLE_BYTES = 64 * 1024 * 1024;

const HEADER_BYTES = 208;
const BLOB_TABLE_AT = 0x30;
const XML_AT = 0x48;
const BOOT_METADATA_AT = 0x60;
const INTEGRITY_AT = 0x7c;
const BLOB_ENTRY_BYTES = 50;
const ResourceFlag = { compressed: 0x4, spanned: 0x8, solid: 0x10 } as const;

interface ResourceSpan {
  readonly offset: number;
  readonly storedSize: number;
  readonly flags: number;
  readonly originalSize: number;
}

/** Files worth looking into: the name says WIM (a split part, .swm, holds the same layout). */
export function isWimPath(path: string): boolean {
  return /\.(wim|swm)$/i.test(path);
}

/**
 * The forced cut offsets of the WIM at `path` (ascending, each strictly inside (0, size)), or [] when the
 * file is not a WIM this can read. Reads the 208-byte header and the blob table only.
 */
export async function readWimCuts(
  path: string,
  size: number,
  options: WimCutOptions = {},
): Promise<number[]> {
  if (size <= HEADER_BYTES) return [];
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(header, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES) return [];
    const table = blobTableSpan(header, size, options);
    if (!table) return [];
    const bytes = Buffer.alloc(table.storedSize);
    const got = await fh.read(bytes, 0, bytes.length, table.offset);
    if (got.bytesRead < bytes.length) return [];
    return wimCuts(header, bytes, size, options);
  } finally {
    await fh.close();
  }
}

/**
 * Pure form of readWimCuts: `header` is the file's first 208 bytes, `blobTable` the bytes its blob table
 * resource header points at, `size` the file size.
 */
export function wimCuts(
  header: Buffer,
  blobTable: Buffer,
  size: number,
  options: WimCutOptions = {},
): number[] {
  const table = blobTableSpan(header, size, options);
  if (!table || blobTable.length !== table.storedSize) return [];
  const parsed = parseHeader(header, size)!;
  const minBytes = options.minResourceBytes ?? DEFAULT_MIN_RESOURCE_BYTES;
  const cuts: number[] = [HEADER_BYTES];
  const spans: ResourceSpan[] = [table];
  for (const at of [XML_AT, BOOT_METADATA_AT, INTEGRITY_AT]) {
    const r = resourceAt(header, at);
    if (r.storedSize > 0) spans.push(r);
  }
  for (let o = 0; o < blobTable.length; o += BLOB_ENTRY_BYTES) {
    const r = resourceAt(blobTable, o);
    const part = blobTable.readUInt16LE(o + 24);
    if (part === 0 || part > parsed.totalParts) return [];
    // Streams kept in another part of a split set are not in this file.
    if (part !== parsed.partNumber) continue;
    if (r.storedSize >= minBytes) spans.push(r);
  }
  for (const r of spans) {
    // One impossible entry means the table is not what it claims: trust none of it.
    if (r.offset < HEADER_BYTES || r.offset + r.storedSize > size) return [];
    if ((r.flags & (ResourceFlag.solid | ResourceFlag.spanned)) !== 0) return [];
    cuts.push(r.offset, r.offset + r.storedSize);
    const table = chunkTableBytes(r, parsed.chunkSize);
    if (table > 0 && table < r.storedSize) cuts.push(r.offset + table);
  }
  return [...new Set(cuts)].filter((c) => c > 0 && c < size).sort((a, b) => a - b);
}

/** The blob table's resource header if the header is a readable non-solid, non-pipable WIM's. */
function blobTableSpan(header: Buffer, size: number, options: WimCutOptions): ResourceSpan | undefined {
  const parsed = parseHeader(header, size);
  if (!parsed || parsed.pipable || parsed.solid) return undefined;
  const table = resourceAt(header, BLOB_TABLE_AT);
  const max = options.maxBlobTableBytes ?? DEFAULT_MAX_BLOB_TABLE_BYTES;
  if (table.storedSize === 0 || table.storedSize > max || table.storedSize % BLOB_ENTRY_BYTES !== 0) {
    return undefined;
  }
  if ((table.flags & ResourceFlag.compressed) !== 0) return undefined;
  if (table.offset < HEADER_BYTES || table.offset + table.storedSize > size) return undefined;
  return table;
}

function parseHeader(header: Buffer, size: number): WimHeader | undefined {
  try {
    return parseWimHeader(header, size);
  } catch {
    return undefined;
  }
}

/**
 * Bytes of the chunk table that opens a compressed (non-solid) resource: one entry per compression chunk
 * after the first, 4 bytes each (8 past 4 GiB). It changes whenever any chunk's compressed size does, while
 * the chunks after an in-place edit stay byte-identical: a cut after it keeps that change in a tiny chunk.
 */
function chunkTableBytes(r: ResourceSpan, chunkSize: number): number {
  if ((r.flags & ResourceFlag.compressed) === 0 || chunkSize <= 0) return 0;
  const entries = Math.ceil(r.originalSize / chunkSize) - 1;
  return entries <= 0 ? 0 : entries * (r.originalSize > 2 ** 32 ? 8 : 4);
}

/** A 24-byte resource header at `o`: 56-bit stored size, flags byte, 64-bit offset, 64-bit original size. */
function resourceAt(buf: Buffer, o: number): ResourceSpan {
  const storedSize = buf.readUIntLE(o, 6) + buf[o + 6]! * 2 ** 48;
  const offset = Number(buf.readBigUInt64LE(o + 8));
  const originalSize = Number(buf.readBigUInt64LE(o + 16));
  return { offset, storedSize, flags: buf[o + 7]!, originalSize };
}

/**
 * The forced cuts for a file the snapshot is about to chunk: a WIM's (by name, then by content), else none.
 * A read problem here is not reported: chunking the file reads it again and reports it properly.
 */
export async function wimCutsOrNone(path: string, size: number, options?: WimCutOptions): Promise<number[]> {
  if (!isWimPath(path)) return [];
  try {
    return await readWimCuts(path, size, options);
  } catch {
    return [];
  }
}
