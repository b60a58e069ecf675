/**
 * wimlib's own view of what changed between two WIMs, read straight from their blob tables (deliberately
 * not through src/: an independent reading). Two figures:
 * - streams: v2 blobs whose SHA-1 v1 lacks, and their stored bytes (what a per-stream delta would send);
 * - bytes that really changed, at the WIM's own granularity: inside each new stream, the compression chunks
 *   (32 KiB of data each, compressed independently; 32 KiB pieces for an uncompressed stream) whose bytes
 *   appear nowhere in v1, plus its chunk table, plus v2's header, blob table, XML and integrity table.
 *   No byte-range delta of the WIM can send less than this without looking inside compressed data.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';

const HEADER = 208;
const PIECE = 32 * 1024;

interface Resource {
  readonly offset: number;
  readonly storedSize: number;
  readonly originalSize: number;
  readonly compressed: boolean;
  readonly sha1: string;
}

export interface WimChangeView {
  readonly v2Blobs: number;
  readonly newBlobs: number;
  /** Stored (compressed) bytes of the new blobs. */
  readonly newBlobBytes: number;
  /** New compression chunks + chunk tables of new blobs + header and tables. */
  readonly changedBytes: number;
  /** Header, blob table, XML and integrity table of v2 (part of changedBytes). */
  readonly tableBytes: number;
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let got = 0; got < length;) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) throw new Error(`WIM ended at ${offset + got}, before ${offset + length}`);
    got += n;
  }
  return buf;
}

function resourcesOf(fd: number): { resources: Resource[]; chunkSize: number; tableBytes: number } {
  const h = readAt(fd, 0, HEADER);
  if (h.toString('latin1', 0, 5) !== 'MSWIM') throw new Error('not a (non-pipable) WIM');
  const chunkSize = h.readUInt32LE(0x14) || PIECE;
  const span = (buf: Buffer, o: number): [number, number] => [
    buf.readUIntLE(o, 6) + buf[o + 6]! * 2 ** 48,
    Number(buf.readBigUInt64LE(o + 8)),
  ];
  const [tableSize, tableOffset] = span(h, 0x30);
  const table = readAt(fd, tableOffset, tableSize);
  const resources: Resource[] = [];
  for (let o = 0; o + 50 <= table.length; o += 50) {
    const [storedSize, offset] = span(table, o);
    resources.push({
      offset,
      storedSize,
      originalSize: Number(table.readBigUInt64LE(o + 16)),
      compressed: (table[o + 7]! & 0x4) !== 0,
      sha1: table.toString('hex', o + 30, o + 50),
    });
  }
  const tableBytes = HEADER + tableSize + span(h, 0x48)[0] + span(h, 0x7c)[0];
  return { resources, chunkSize, tableBytes };
}

/** [offset, length] of each compression chunk (or 32 KiB piece) of a resource, and its chunk table size. */
function piecesOf(fd: number, r: Resource, chunkSize: number): { pieces: [number, number][]; table: number } {
  const pieces: [number, number][] = [];
  if (!r.compressed) {
    for (let p = 0; p < r.storedSize; p += PIECE) {
      pieces.push([r.offset + p, Math.min(PIECE, r.storedSize - p)]);
    }
    return { pieces, table: 0 };
  }
  const chunks = Math.ceil(r.originalSize / chunkSize);
  const width = r.originalSize > 2 ** 32 ? 8 : 4;
  const table = (chunks - 1) * width;
  const entries = readAt(fd, r.offset, table);
  const starts = [0];
  for (let i = 0; i < chunks - 1; i++) {
    starts.push(width === 4 ? entries.readUInt32LE(i * 4) : Number(entries.readBigUInt64LE(i * 8)));
  }
  const dataBytes = r.storedSize - table;
  for (let i = 0; i < chunks; i++) {
    const end = i + 1 < chunks ? starts[i + 1]! : dataBytes;
    pieces.push([r.offset + table + starts[i]!, end - starts[i]!]);
  }
  return { pieces, table };
}

function pieceHashes(fd: number, r: Resource, chunkSize: number, into: Set<string>): void {
  for (const [offset, length] of piecesOf(fd, r, chunkSize).pieces) {
    into.add(
      createHash('sha256')
        .update(readAt(fd, offset, length))
        .digest('hex'),
    );
  }
}

/** Compares two WIM files (see the file comment). Reads v1 whole and v2's new streams. */
export function wimChangeView(v1Path: string, v2Path: string): WimChangeView {
  const fd1 = openSync(v1Path, 'r');
  const fd2 = openSync(v2Path, 'r');
  try {
    const a = resourcesOf(fd1);
    const b = resourcesOf(fd2);
    const known = new Set(a.resources.map((r) => r.sha1));
    const fresh = b.resources.filter((r) => !known.has(r.sha1));
    const v1Pieces = new Set<string>();
    for (const r of a.resources) pieceHashes(fd1, r, a.chunkSize, v1Pieces);
    let changed = b.tableBytes;
    for (const r of fresh) {
      const { pieces, table } = piecesOf(fd2, r, b.chunkSize);
      changed += table;
      for (const [offset, length] of pieces) {
        const id = createHash('sha256')
          .update(readAt(fd2, offset, length))
          .digest('hex');
        if (!v1Pieces.has(id)) changed += length;
      }
    }
    if (fstatSync(fd2).size < changed) throw new Error('changed bytes exceed the WIM size: misread');
    return {
      v2Blobs: b.resources.length,
      newBlobs: fresh.length,
      newBlobBytes: fresh.reduce((n, r) => n + r.storedSize, 0),
      changedBytes: changed,
      tableBytes: b.tableBytes,
    };
  } finally {
    closeSync(fd1);
    closeSync(fd2);
  }
}
