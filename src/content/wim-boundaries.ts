/**
 * Forced chunk boundaries for a WIM file: the start and end of every large resource (file stream, image
 * metadata) listed in its blob table, and of the blob table, XML data and integrity table themselves; then,
 * chosen by content (wim-boundaries-select.ts), some compression-chunk boundaries inside each compressed
 * resource and some ends of small resources. Regions that are runs of whole compression chunks or whole
 * small resources are kept as one chunk when short enough (segment-plan.ts).
 *
 * Why: a re-captured WIM keeps unchanged streams byte-identical but moves them. Plain content-defined
 * chunking loses, at every changed stream, the chunk that straddles changed and unchanged bytes (and the
 * next stream's first chunk with it); cutting at resource boundaries first keeps the damage inside the
 * changed stream (see /work/shared/reference/wim.md, "Cutting at WIM resource boundaries"). FastCDC still
 * runs inside the other regions, so chunks stay content-addressed byte ranges of the file: the manifest
 * format does not change, only where some cuts land.
 *
 * Anything odd (not a WIM, pipable, solid, compressed or out-of-range blob table) means "no forced cuts":
 * the file is then chunked exactly as any other file; a compressed resource whose chunk table does not add
 * up gets only its resource cuts. Never an error: the bytes are what they are.
 */
import { read } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { parseWimHeader, type WimHeader } from '../wim/index.js';
import { NO_FORCED_CUTS as NO_CUTS, type ForcedCuts } from './segment-plan.js';
import {
  DEFAULT_CHUNK_CUTS,
  parseChunkTable,
  selectChunkCuts,
  selectResourceCuts,
  windowBefore,
  type ChunkCutParams,
  type CompressedLayout,
  type SmallResource,
  type WindowRange,
} from './wim-boundaries-select.js';

export interface WimCutOptions {
  /**
   * Resources whose stored size is below this get no cuts of their own: runs of small streams are left to
   * FastCDC (a cut per tiny stream would multiply chunks and manifest bytes for little gain).
   */
  readonly minResourceBytes?: number;
  /** A blob table larger than this is not read (50 bytes per stream: 64 MiB ≈ 1.3 million streams). */
  readonly maxBlobTableBytes?: number;
  /**
   * Inside compressed resources, also cut at content-selected compression-chunk boundaries
   * (wim-boundaries-select.ts); false: resource boundaries only.
   */
  readonly chunkCuts?: ChunkCutParams | false;
}

/** Window reads in flight at once while selecting compression-chunk cuts. */
const WINDOW_READS_IN_FLIGHT = 32;

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
 * The forced cuts of the WIM at `path` (each strictly inside (0, size)), or none when the file is not a WIM
 * this can read. Reads the 208-byte header, the blob table, and for each large compressed resource its
 * chunk table and a few bytes at the end of each compression chunk (see wim-boundaries-select.ts).
 */
export async function readWimCuts(
  path: string,
  size: number,
  options: WimCutOptions = {},
): Promise<ForcedCuts> {
  if (size <= HEADER_BYTES) return NO_CUTS;
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(header, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES) return NO_CUTS;
    const table = blobTableSpan(header, size, options);
    if (!table) return NO_CUTS;
    const bytes = Buffer.alloc(table.storedSize);
    const got = await fh.read(bytes, 0, bytes.length, table.offset);
    if (got.bytesRead < bytes.length) return NO_CUTS;
    const layout = wimLayout(header, bytes, size, options);
    if (!layout) return NO_CUTS;
    const params = options.chunkCuts === undefined ? DEFAULT_CHUNK_CUTS : options.chunkCuts;
    if (params === false) return { cuts: layout.cuts, wholeFrom: [], wholeMaxBytes: 0 };
    const cuts = new Set(layout.cuts);
    // A run of whole small resources between cuts is one chunk when short enough, as is a run of whole
    // compression chunks: the region after a large resource's end, or after a selected cut.
    const wholeFrom: number[] = layout.resourceEnds.filter((e) => e < size);
    for (const c of selectResourceCuts(layout.small, layout.cuts, params)) {
      cuts.add(c);
      wholeFrom.push(c);
    }
    for (const r of layout.compressed) {
      const chunks = await readCompressedLayout(fh, r, layout.chunkSize);
      if (!chunks) continue;
      wholeFrom.push(chunks.dataStart);
      for (const c of await readChunkCuts(fh, chunks, params)) {
        cuts.add(c);
        wholeFrom.push(c);
      }
    }
    return {
      cuts: [...cuts].sort((a, b) => a - b),
      wholeFrom: [...new Set(wholeFrom)].sort((a, b) => a - b),
      wholeMaxBytes: params.wholeMaxBytes,
    };
  } finally {
    await fh.close();
  }
}

/** A compressed resource's chunk table, read and checked; undefined when it does not add up. */
async function readCompressedLayout(
  fh: FileHandle,
  r: ResourceSpan,
  chunkSize: number,
): Promise<CompressedLayout | undefined> {
  const tableBytes = chunkTableBytes(r, chunkSize);
  if (tableBytes <= 0 || tableBytes >= r.storedSize) return undefined;
  const table = Buffer.alloc(tableBytes);
  const { bytesRead } = await fh.read(table, 0, tableBytes, r.offset);
  if (bytesRead < tableBytes) return undefined;
  const entryBytes = chunkEntryBytes(r);
  return parseChunkTable(table, entryBytes, r.offset + tableBytes, r.offset + r.storedSize, chunkSize);
}

/** The selected compression-chunk cuts of one resource: reads each boundary's window, a few at a time. */
async function readChunkCuts(
  fh: FileHandle,
  layout: CompressedLayout,
  params: ChunkCutParams,
): Promise<number[]> {
  const ranges = layout.boundaries.map((_, k) => windowBefore(layout, k, params));
  const windows = await readRanges(fh, ranges);
  if (!windows) return [];
  return selectChunkCuts(layout, (k) => windows[k]!, params);
}

/**
 * The bytes of each range (undefined if the file ended early), WINDOW_READS_IN_FLIGHT reads at a time.
 * Plain fs.read on the handle's descriptor: FileHandle.read costs several times more per call, and these
 * are thousands of tiny reads (a 300 MiB LZX WIM: ~12,000).
 */
async function readRanges(fh: FileHandle, ranges: readonly WindowRange[]): Promise<Uint8Array[] | undefined> {
  const total = ranges.reduce((n, r) => n + (r.end - r.offset), 0);
  const all = Buffer.alloc(total);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const r of ranges) {
    out.push(all.subarray(at, at + r.end - r.offset));
    at += r.end - r.offset;
  }
  let next = 0;
  let short = false;
  const readOne = (k: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const dest = out[k]!;
      read(fh.fd, dest, 0, dest.length, ranges[k]!.offset, (e, n) => (e ? reject(e) : resolve(n)));
    });
  const reader = async (): Promise<void> => {
    while (next < ranges.length && !short) {
      const k = next++;
      if ((await readOne(k)) < out[k]!.length) short = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW_READS_IN_FLIGHT, ranges.length) }, reader));
  return short ? undefined : out;
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
  return wimLayout(header, blobTable, size, options)?.cuts ?? [];
}

interface WimLayout {
  /** Resource boundary cuts, ascending. */
  readonly cuts: number[];
  /** The large compressed resources (file streams and image metadata), in blob table order. */
  readonly compressed: ResourceSpan[];
  /** Where each large file stream or metadata resource ends. */
  readonly resourceEnds: number[];
  /** The small resources (below minResourceBytes), which get no cuts of their own. */
  readonly small: SmallResource[];
  readonly chunkSize: number;
}

function wimLayout(
  header: Buffer,
  blobTable: Buffer,
  size: number,
  options: WimCutOptions,
): WimLayout | undefined {
  const table = blobTableSpan(header, size, options);
  if (!table || blobTable.length !== table.storedSize) return undefined;
  const parsed = parseHeader(header, size)!;
  const minBytes = options.minResourceBytes ?? DEFAULT_MIN_RESOURCE_BYTES;
  const cuts: number[] = [HEADER_BYTES];
  const spans: ResourceSpan[] = [table];
  const streams: ResourceSpan[] = [];
  const small: SmallResource[] = [];
  for (const at of [XML_AT, BOOT_METADATA_AT, INTEGRITY_AT]) {
    const r = resourceAt(header, at);
    if (r.storedSize > 0) spans.push(r);
  }
  for (let o = 0; o < blobTable.length; o += BLOB_ENTRY_BYTES) {
    const r = resourceAt(blobTable, o);
    const part = blobTable.readUInt16LE(o + 24);
    if (part === 0 || part > parsed.totalParts) return undefined;
    // Streams kept in another part of a split set are not in this file.
    if (part !== parsed.partNumber) continue;
    if (r.storedSize >= minBytes) {
      spans.push(r);
      streams.push(r);
    } else if (r.storedSize > 0) {
      if (r.offset < HEADER_BYTES || r.offset + r.storedSize > size) return undefined;
      const sha1 = blobTable.subarray(o + 30, o + 50);
      small.push({ end: r.offset + r.storedSize, storedSize: r.storedSize, sha1 });
    }
  }
  for (const r of spans) {
    // One impossible entry means the table is not what it claims: trust none of it.
    if (r.offset < HEADER_BYTES || r.offset + r.storedSize > size) return undefined;
    if ((r.flags & (ResourceFlag.solid | ResourceFlag.spanned)) !== 0) return undefined;
    cuts.push(r.offset, r.offset + r.storedSize);
    const table = chunkTableBytes(r, parsed.chunkSize);
    if (table > 0 && table < r.storedSize) cuts.push(r.offset + table);
  }
  return {
    cuts: [...new Set(cuts)].filter((c) => c > 0 && c < size).sort((a, b) => a - b),
    compressed: streams.filter((r) => (r.flags & ResourceFlag.compressed) !== 0),
    small,
    resourceEnds: streams.map((r) => r.offset + r.storedSize),
    chunkSize: parsed.chunkSize,
  };
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
  return entries <= 0 ? 0 : entries * chunkEntryBytes(r);
}

/** Chunk table entries are 8 bytes when the stream is 4 GiB or more (wimlib: size > UINT32_MAX). */
function chunkEntryBytes(r: ResourceSpan): 4 | 8 {
  return r.originalSize >= 2 ** 32 ? 8 : 4;
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
export async function wimCutsOrNone(
  path: string,
  size: number,
  options?: WimCutOptions,
): Promise<ForcedCuts> {
  if (!isWimPath(path)) return NO_CUTS;
  try {
    return await readWimCuts(path, size, options);
  } catch {
    return NO_CUTS;
  }
}
