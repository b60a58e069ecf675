/**
 * Manifest delta (design §3, "large manifests travel as a delta against the receiver's current manifest").
 *
 * A new version's manifest is mostly its predecessor: the same files, the same runs of chunks. The delta
 * names what is the same by position in the base manifest and spells out only what is new, in a compact
 * binary form. The receiver rebuilds the manifest from its own copy of the base, re-encodes the canonical
 * bytes and checks them against the manifest id the sender gave: a wrong base or a damaged delta can never
 * produce a different manifest, only an error.
 *
 * Layout (integers are unsigned LEB128 varints unless noted):
 *   "SCMD" u8(1) baseId(32 raw bytes)
 *   packageId(str) sourceVersion
 *   directories: u8 0 = same as base | u8 1, count, str…
 *   fileCount, then file ops until fileCount files are produced:
 *     0 KEEP baseFileIndex n          n files equal to base files [i, i+n) (path, size, mode, mtime, chunks)
 *     1 FILE path size mode mtime(zigzag) chunkCount, then chunk ops until chunkCount chunks:
 *          0 COPY baseChunkIndex n     n chunks equal to the base's flat chunk list [i, i+n)
 *          1 LIT n (id(32 raw) size)…  n chunks spelled out
 *   path: u8 0 baseFileIndex (same path as that base file) | u8 1 str
 *   str: byte length, UTF-8
 */
import { SitecastError } from '../kernel/index.js';
import { encodeManifest, inCanonicalOrder, manifestIdOf } from './manifest.js';
import type { ChunkRef, Manifest, ManifestFile } from './types.js';

const MAGIC = Buffer.from('SCMD', 'ascii');
const FORMAT = 1;
/** More files or chunks than any package has (2^26 chunks of 16 KiB is 1 TiB). */
const MAX_ENTRIES = 2 ** 26;
export const MANIFEST_DELTA_MEDIA_TYPE = 'application/vnd.sitecast.manifest-delta';

const FileOp = { Keep: 0, File: 1 } as const;
const ChunkOp = { Copy: 0, Literal: 1 } as const;

/**
 * Encodes `next` as a delta against `base` (whose id is `baseId`). Positions refer to the canonical order,
 * the order the receiver decodes its base in, whatever order the objects given here list their files in.
 */
export function encodeManifestDelta(givenBase: Manifest, baseId: string, givenNext: Manifest): Buffer {
  const base = inCanonicalOrder(givenBase);
  const next = inCanonicalOrder(givenNext);
  const w = new Writer();
  w.bytes(MAGIC);
  w.u8(FORMAT);
  w.bytes(Buffer.from(baseId, 'hex'));
  w.str(next.packageId);
  w.uint(next.sourceVersion);
  if (sameStrings(base.directories, next.directories)) w.u8(0);
  else {
    w.u8(1);
    w.uint(next.directories.length);
    for (const d of next.directories) w.str(d);
  }

  const baseFileIndex = new Map(base.files.map((f, i) => [f.path, i]));
  const baseChunks = flatChunks(base);
  const firstIndexOf = new Map<string, number>();
  baseChunks.forEach((c, i) => {
    if (!firstIndexOf.has(c.id)) firstIndexOf.set(c.id, i);
  });

  w.uint(next.files.length);
  let k = 0;
  while (k < next.files.length) {
    const file = next.files[k]!;
    const bi = baseFileIndex.get(file.path);
    if (bi !== undefined && sameFile(base.files[bi]!, file)) {
      let n = 1;
      while (
        k + n < next.files.length &&
        bi + n < base.files.length &&
        sameFile(base.files[bi + n]!, next.files[k + n]!)
      )
        n++;
      w.u8(FileOp.Keep);
      w.uint(bi);
      w.uint(n);
      k += n;
      continue;
    }
    w.u8(FileOp.File);
    if (bi !== undefined) {
      w.u8(0);
      w.uint(bi);
    } else {
      w.u8(1);
      w.str(file.path);
    }
    w.uint(file.size);
    w.uint(file.mode);
    w.uint(zigzag(file.mtime));
    w.uint(file.chunks.length);
    writeChunkOps(w, file.chunks, baseChunks, firstIndexOf);
    k++;
  }
  return w.done();
}

function writeChunkOps(
  w: Writer,
  chunks: readonly ChunkRef[],
  baseChunks: readonly ChunkRef[],
  firstIndexOf: ReadonlyMap<string, number>,
): void {
  let literals: ChunkRef[] = [];
  const flushLiterals = (): void => {
    if (literals.length === 0) return;
    w.u8(ChunkOp.Literal);
    w.uint(literals.length);
    for (const c of literals) {
      w.bytes(Buffer.from(c.id, 'hex'));
      w.uint(c.size);
    }
    literals = [];
  };
  let k = 0;
  while (k < chunks.length) {
    const c = chunks[k]!;
    const j = firstIndexOf.get(c.id);
    if (j === undefined || baseChunks[j]!.size !== c.size) {
      literals.push(c);
      k++;
      continue;
    }
    let n = 1;
    while (
      k + n < chunks.length &&
      j + n < baseChunks.length &&
      sameChunk(baseChunks[j + n]!, chunks[k + n]!)
    )
      n++;
    flushLiterals();
    w.u8(ChunkOp.Copy);
    w.uint(j);
    w.uint(n);
    k += n;
  }
  flushLiterals();
}

/** The id of the base manifest a delta was made against (to look the base up before applying it). */
export function manifestDeltaBaseId(delta: Uint8Array): string {
  const r = new Reader(delta);
  r.header();
  return r.baseId;
}

/**
 * Rebuilds a manifest from `delta` and the receiver's `base`, and checks the result hashes to `expectedId`.
 * Returns the canonical bytes and the manifest. CORRUPT_DATA for a damaged delta, STALE_OBJECT for a delta made
 * against another base (the sender then sends the whole manifest).
 */
export function applyManifestDelta(
  base: Manifest,
  baseId: string,
  delta: Uint8Array,
  expectedId: string,
): { readonly manifest: Manifest; readonly bytes: Buffer } {
  const r = new Reader(delta);
  r.header();
  if (r.baseId !== baseId) {
    throw new SitecastError(
      'STALE_OBJECT',
      `manifest delta was made against manifest ${r.baseId}, but the receiver holds ${baseId}`,
      { field: 'baseManifestId', baseManifestId: r.baseId },
    );
  }
  const packageId = r.str('packageId');
  const sourceVersion = r.uint('sourceVersion');
  const directoriesFlag = r.u8('directories flag');
  if (directoriesFlag > 1) throw corrupt(`unknown directories flag ${directoriesFlag}`);
  const directories: string[] =
    directoriesFlag === 0
      ? [...base.directories]
      : Array.from({ length: r.count('directory count') }, () => r.str('directory'));

  const baseChunks = flatChunks(base);
  const fileCount = r.count('file count', base.files.length);
  const files: ManifestFile[] = [];
  while (files.length < fileCount) {
    const op = r.u8('file op');
    if (op === FileOp.Keep) {
      const i = r.uint('base file index');
      const n = r.uint('file run length');
      if (n === 0 || i + n > base.files.length || files.length + n > fileCount)
        throw corrupt(`file run [${i}, ${i + n}) is outside the base (${base.files.length} files)`);
      files.push(...base.files.slice(i, i + n));
    } else if (op === FileOp.File) {
      const path = readPath(r, base);
      const size = r.uint('file size');
      const mode = r.uint('file mode');
      const mtime = unzigzag(r.uint('file mtime'));
      const chunkCount = r.count('chunk count', baseChunks.length);
      files.push({ path, size, mode, mtime, chunks: readChunkOps(r, chunkCount, baseChunks) });
    } else throw corrupt(`unknown file op ${op}`);
  }
  if (!r.atEnd()) throw corrupt(`${r.remaining()} bytes after the last file`);

  const manifest: Manifest = { format: 1, packageId, sourceVersion, files, directories };
  const bytes = encodeManifest(manifest);
  if (manifestIdOf(bytes) !== expectedId)
    throw new SitecastError(
      'CORRUPT_DATA',
      `manifest rebuilt from the delta does not hash to ${expectedId}`,
      {
        field: 'manifest',
        manifestId: expectedId,
      },
    );
  return { manifest, bytes };
}

function readPath(r: Reader, base: Manifest): string {
  const kind = r.u8('path kind');
  if (kind === 1) return r.str('path');
  if (kind !== 0) throw corrupt(`unknown path kind ${kind}`);
  const i = r.uint('base file index');
  const f = base.files[i];
  if (!f) throw corrupt(`path refers to base file ${i}, the base has ${base.files.length}`);
  return f.path;
}

function readChunkOps(r: Reader, count: number, baseChunks: readonly ChunkRef[]): ChunkRef[] {
  const out: ChunkRef[] = [];
  while (out.length < count) {
    const op = r.u8('chunk op');
    const left = count - out.length;
    if (op === ChunkOp.Copy) {
      const j = r.uint('base chunk index');
      const n = r.uint('chunk run length');
      if (n === 0 || n > left || j + n > baseChunks.length)
        throw corrupt(`chunk run [${j}, ${j + n}) is outside the base (${baseChunks.length} chunks)`);
      for (let i = j; i < j + n; i++) out.push(baseChunks[i]!);
    } else if (op === ChunkOp.Literal) {
      const n = r.uint('literal count');
      if (n === 0 || n > left) throw corrupt(`literal run of ${n} chunks where ${left} remain`);
      for (let i = 0; i < n; i++) {
        const id = r.raw(32, 'chunk id').toString('hex');
        out.push({ id, size: r.uint('chunk size') });
      }
    } else throw corrupt(`unknown chunk op ${op}`);
  }
  return out;
}

function flatChunks(m: Manifest): ChunkRef[] {
  const out: ChunkRef[] = [];
  for (const f of m.files) for (const c of f.chunks) out.push(c);
  return out;
}

function sameChunk(a: ChunkRef, b: ChunkRef): boolean {
  return a.id === b.id && a.size === b.size;
}

function sameFile(a: ManifestFile, b: ManifestFile): boolean {
  if (a.path !== b.path || a.size !== b.size || a.mode !== b.mode || a.mtime !== b.mtime) return false;
  if (a.chunks.length !== b.chunks.length) return false;
  for (let i = 0; i < a.chunks.length; i++) if (!sameChunk(a.chunks[i]!, b.chunks[i]!)) return false;
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** Signed integer (|n| < 2^52) to unsigned, small magnitudes staying small. */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}
function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function corrupt(message: string): SitecastError {
  return new SitecastError('CORRUPT_DATA', `manifest delta: ${message}`, { field: 'manifest' });
}

class Writer {
  private buf = Buffer.allocUnsafe(4096);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }
  /** Unsigned LEB128 of a safe integer (arithmetic, not 32-bit bit operations). */
  uint(v: number): void {
    this.room(8);
    let n = v;
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.uint(b.length);
    this.bytes(b);
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }
}

class Reader {
  private at = 0;
  baseId = '';
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  header(): void {
    const magic = this.raw(4, 'magic');
    if (!magic.equals(MAGIC)) throw corrupt('not a manifest delta (bad magic)');
    const format = this.u8('format');
    if (format !== FORMAT) throw corrupt(`format ${format} is not supported (expected ${FORMAT})`);
    this.baseId = this.raw(32, 'base manifest id').toString('hex');
  }
  u8(what: string): number {
    if (this.at >= this.buf.length) throw corrupt(`ends inside ${what}`);
    return this.buf[this.at++]!;
  }
  uint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) throw corrupt(`${what} is too large`);
        return value;
      }
      scale *= 0x80;
    }
    throw corrupt(`${what} is too large`);
  }
  /**
   * A count that the remaining bytes could describe when each entry costs at least one byte and a run can
   * stand for up to `perByte` entries (bounds memory on garbage).
   */
  count(what: string, perByte = 1): number {
    const n = this.uint(what);
    const most = Math.min(this.remaining() * Math.max(1, perByte), MAX_ENTRIES);
    if (n > most) throw corrupt(`${what} ${n} is more than the ${this.remaining()} bytes left can describe`);
    return n;
  }
  raw(n: number, what: string): Buffer {
    if (this.at + n > this.buf.length) throw corrupt(`ends inside ${what}`);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  str(what: string): string {
    const n = this.uint(`${what} length`);
    return this.raw(n, what).toString('utf8');
  }
  remaining(): number {
    return this.buf.length - this.at;
  }
  atEnd(): boolean {
    return this.at === this.buf.length;
  }
}
