/**
 * The verified chunks received for pending versions, kept in `.sitecast/incoming/<PackageID>/` as
 * append-only batch files: one file per `put` (a putChunks call, up to a few MiB), written under a temp
 * name then renamed to `<seq>.chunks`, so a batch is either wholly there or not at all. A file is a run of
 * frames `[32-byte raw id][u32 LE length][bytes]`. One file per batch instead of one per ~64 KiB chunk
 * spares the inode creations, renames and stats that dominated a DP's CPU while receiving.
 *
 * Not fsync'd (as before): chunks are re-hashed when they are used, so a power cut costs a re-send, not
 * correctness. The in-memory index (id → file, offset, size) of a package is rebuilt on its first use by
 * reading the frame headers of its files; a frame that does not fit its file ends that file's scan, and a
 * frame whose id was zeroed (its bytes were found rotten) is skipped.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChunkId } from '../../content/index.js';
import type { DpChunk } from '../dp-adapter.js';
import { errnoOf, listNames, mkdirOne, readRange, removeTree } from './durable-fs.js';
import { type FolderLayout, TEMP_PREFIX, randomHex8 } from './folder-layout.js';
import { MAX_CHUNK_BYTES } from './received-manifest.js';
import { StagedFileWriter } from './staged-file-writer.js';

const ID_BYTES = 32;
const HEADER_BYTES = ID_BYTES + 4;
const batchName = /^(\d{1,15})\.chunks$/;

/** Where a received chunk's bytes sit. */
export interface IncomingLocation {
  readonly file: string;
  readonly offset: number;
  readonly size: number;
}

interface Entry {
  readonly seq: number;
  /** Offset of the frame header; the bytes follow it. */
  readonly frame: number;
  readonly size: number;
}

interface PackageChunks {
  readonly dir: string;
  readonly entries: Map<ChunkId, Entry>;
  /** Live chunk ids of each batch file. */
  readonly files: Map<number, Set<ChunkId>>;
  bytes: number;
  nextSeq: number;
}

export class IncomingChunks {
  /** Per package, the index once it is (being) loaded. A removed entry makes the next use rescan. */
  private readonly packages = new Map<string, Promise<PackageChunks>>();

  constructor(private readonly layout: FolderLayout) {}

  /** Forgets every index (the root may have come back with other content); the files stay. */
  reset(): void {
    this.packages.clear();
  }

  /** Packages with a folder of received chunks. */
  async packageIds(): Promise<string[]> {
    return listNames(this.layout.incoming);
  }

  /** Stores verified chunks as one batch file; chunks already held (or repeated in `chunks`) are skipped. */
  async put(packageId: string, chunks: readonly DpChunk[]): Promise<void> {
    const pkg = await this.load(packageId);
    const seen = new Set<ChunkId>();
    const fresh = chunks.filter((c) => {
      if (pkg.entries.has(c.id) || seen.has(c.id)) return false;
      seen.add(c.id);
      return true;
    });
    if (fresh.length === 0) return;
    const seq = pkg.nextSeq++;
    const placed: [ChunkId, Entry][] = [];
    await mkdirOne(pkg.dir);
    const temp = join(pkg.dir, `${TEMP_PREFIX}${randomHex8()}`);
    try {
      const handle = await open(temp, 'wx', 0o644);
      try {
        // Through a staging buffer (direct I/O where allowed): these files are large and written once.
        const out = await StagedFileWriter.open(temp, handle);
        try {
          const header = Buffer.allocUnsafe(HEADER_BYTES);
          for (const chunk of fresh) {
            const frame = out.length;
            header.write(chunk.id, 0, ID_BYTES, 'hex');
            header.writeUInt32LE(chunk.bytes.length, ID_BYTES);
            await out.write(header);
            await out.write(chunk.bytes);
            placed.push([chunk.id, { seq, frame, size: chunk.bytes.length }]);
          }
          await out.finish();
        } finally {
          await out.close();
        }
      } finally {
        await handle.close();
      }
      await rename(temp, join(pkg.dir, batchFileName(seq)));
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw e;
    }
    for (const [id, entry] of placed) add(pkg, id, entry);
  }

  async has(packageId: string, id: ChunkId): Promise<boolean> {
    return (await this.load(packageId)).entries.has(id);
  }

  async ids(packageId: string): Promise<ChunkId[]> {
    return [...(await this.load(packageId)).entries.keys()];
  }

  /** Count and bytes of the chunks held for the package. */
  async totals(packageId: string): Promise<{ chunks: number; bytes: number }> {
    const pkg = await this.load(packageId);
    return { chunks: pkg.entries.size, bytes: pkg.bytes };
  }

  async size(packageId: string, id: ChunkId): Promise<number | null> {
    return (await this.load(packageId)).entries.get(id)?.size ?? null;
  }

  /** Where the chunk's bytes are, for a reader keeping its own file handles; null when not held. */
  async locate(packageId: string, id: ChunkId): Promise<IncomingLocation | null> {
    const pkg = await this.load(packageId);
    const entry = pkg.entries.get(id);
    if (!entry) return null;
    return {
      file: join(pkg.dir, batchFileName(entry.seq)),
      offset: entry.frame + HEADER_BYTES,
      size: entry.size,
    };
  }

  /** The stored bytes of a chunk (not re-hashed here), or null when not held or unreadable. */
  async read(packageId: string, id: ChunkId): Promise<Buffer | null> {
    const location = await this.locate(packageId, id);
    return location ? readRange(location.file, location.offset, location.size) : null;
  }

  /**
   * Forgets a chunk whose stored bytes turned out wrong, durably (its frame id is zeroed), so the next
   * missingChunks asks for it again, even after a restart.
   */
  async drop(packageId: string, id: ChunkId): Promise<void> {
    const pkg = await this.load(packageId);
    const entry = pkg.entries.get(id);
    if (!entry) return;
    remove(pkg, id, entry);
    const file = join(pkg.dir, batchFileName(entry.seq));
    if (pkg.files.get(entry.seq)?.size === 0) {
      pkg.files.delete(entry.seq);
      await removeTree(file);
      return;
    }
    const handle = await open(file, 'r+');
    try {
      await handle.write(Buffer.alloc(ID_BYTES), 0, ID_BYTES, entry.frame);
    } finally {
      await handle.close();
    }
  }

  /**
   * After a version is committed: deletes the batch files whose every chunk is in `consumed`, and the
   * package's folder when nothing else is left in it. Chunks not consumed stay for a later version.
   */
  async release(packageId: string, consumed: ReadonlySet<ChunkId>): Promise<void> {
    const pkg = await this.load(packageId);
    for (const [seq, ids] of [...pkg.files]) {
      if (![...ids].every((id) => consumed.has(id))) continue;
      for (const id of ids) remove(pkg, id, pkg.entries.get(id)!);
      pkg.files.delete(seq);
      await removeTree(join(pkg.dir, batchFileName(seq)));
    }
    if (pkg.files.size === 0) await this.discard(packageId);
  }

  /** Deletes every chunk received for the package. */
  async discard(packageId: string): Promise<void> {
    this.packages.delete(packageId);
    await removeTree(this.layout.packageIncoming(packageId));
    // A query may have rescanned the folder while it was being deleted.
    this.packages.delete(packageId);
  }

  private load(packageId: string): Promise<PackageChunks> {
    let loading = this.packages.get(packageId);
    if (!loading) {
      loading = scan(this.layout.packageIncoming(packageId));
      this.packages.set(packageId, loading);
      loading.catch(() => {
        if (this.packages.get(packageId) === loading) this.packages.delete(packageId);
      });
    }
    return loading;
  }
}

function batchFileName(seq: number): string {
  return `${String(seq).padStart(8, '0')}.chunks`;
}

function add(pkg: PackageChunks, id: ChunkId, entry: Entry): void {
  pkg.entries.set(id, entry);
  pkg.bytes += entry.size;
  let ids = pkg.files.get(entry.seq);
  if (!ids) pkg.files.set(entry.seq, (ids = new Set()));
  ids.add(id);
}

function remove(pkg: PackageChunks, id: ChunkId, entry: Entry): void {
  pkg.entries.delete(id);
  pkg.bytes -= entry.size;
  pkg.files.get(entry.seq)?.delete(id);
}

/** Reads a package's batch files back into an index; leftover temp files (a killed write) are deleted. */
async function scan(dir: string): Promise<PackageChunks> {
  const pkg: PackageChunks = { dir, entries: new Map(), files: new Map(), bytes: 0, nextSeq: 0 };
  const batches: number[] = [];
  for (const name of await listNames(dir)) {
    const m = batchName.exec(name);
    if (m) batches.push(Number(m[1]));
    else if (name.startsWith(TEMP_PREFIX)) await removeTree(join(dir, name));
  }
  batches.sort((a, b) => a - b);
  for (const seq of batches) {
    pkg.nextSeq = seq + 1;
    for (const [id, entry] of await framesOf(join(dir, batchFileName(seq)), seq)) {
      // A later copy of a chunk exists only because an earlier one was dropped: the later one wins.
      const old = pkg.entries.get(id);
      if (old) remove(pkg, id, old);
      add(pkg, id, entry);
    }
    if (!pkg.files.has(seq)) pkg.files.set(seq, new Set());
  }
  return pkg;
}

/** The live frames of a batch file, up to the first frame that does not fit it. */
async function framesOf(file: string, seq: number): Promise<[ChunkId, Entry][]> {
  const out: [ChunkId, Entry][] = [];
  const handle = await open(file, 'r').catch((e: unknown) => {
    if (errnoOf(e) === 'ENOENT') return null;
    throw e;
  });
  if (!handle) return out;
  try {
    const fileSize = (await handle.stat()).size;
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    let frame = 0;
    while (frame + HEADER_BYTES <= fileSize) {
      const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, frame);
      if (bytesRead !== HEADER_BYTES) break;
      const size = header.readUInt32LE(ID_BYTES);
      if (size > MAX_CHUNK_BYTES || frame + HEADER_BYTES + size > fileSize) break;
      const id = header.toString('hex', 0, ID_BYTES);
      if (!isZero(header, ID_BYTES)) out.push([id, { seq, frame, size }]);
      frame += HEADER_BYTES + size;
    }
  } finally {
    await handle.close();
  }
  return out;
}

function isZero(buffer: Buffer, length: number): boolean {
  for (let i = 0; i < length; i++) if (buffer[i] !== 0) return false;
  return true;
}
