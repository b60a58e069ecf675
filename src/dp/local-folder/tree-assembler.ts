/**
 * Builds a version's file tree in a staging directory from verified chunks: those received for it
 * (incoming) and byte ranges of trees the DP already presents (seeds). Every chunk is re-hashed right
 * before it is written, so a seed range that rotted on disk counts as missing instead of being copied.
 */
import { chmod, open, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { sha256Hex } from '../../content/index.js';
import type { ChunkId, Manifest } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';
// Not in content's index: direct I/O is a storage detail the content feature shares with DP folders only.
import { AlignedBufferPool, DIRECT_ALIGN, isDirectRefusal, openDirectRead } from '../../content/index.js';
import { fsyncDir, mkdirOne, readRange } from './durable-fs.js';
import type { IncomingChunks } from './incoming-chunks.js';
import { StagedFileWriter } from './staged-file-writer.js';

/** A verified copy of a chunk may sit at `offset` of `file` (absolute path). */
export interface SeedRange {
  readonly file: string;
  readonly offset: number;
  readonly size: number;
}

export interface AssembleInput {
  readonly manifest: Manifest;
  /** Created here; its parent must exist. */
  readonly stagingDir: string;
  /** Where verified chunks received for the manifest's package wait. */
  readonly incoming: IncomingChunks;
  /** Where else a chunk may be found; null when the version must be built from incoming chunks only. */
  readonly seeds: ((id: ChunkId) => readonly SeedRange[]) | null;
  readonly signal?: AbortSignal | undefined;
}

export interface AssembleResult {
  /** Chunk ids that could not be found with matching bytes; the tree is incomplete when non-empty. */
  readonly missing: readonly ChunkId[];
  readonly bytesWritten: number;
}

const maxOpenSeeds = 16;
/** Bytes read at once from a chunk's file: chunks received or seeded in a row sit next to each other. */
const readWindowBytes = 8 * 1024 * 1024;

export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new SitecastError('CANCELLED', `${what} cancelled`);
}

/** Joins a manifest path (already validated by decodeManifest) under `base`, refusing any escape. */
export function pathInside(base: string, relative: string): string {
  const full = resolve(base, ...relative.split('/'));
  if (!full.startsWith(base + sep)) {
    throw new SitecastError('UNSAFE_PATH', `manifest path ${JSON.stringify(relative)} leaves ${base}`, {
      path: relative,
      field: 'path',
    });
  }
  return full;
}

export async function assembleTree(input: AssembleInput): Promise<AssembleResult> {
  const source = new ChunkSource(input.incoming, input.manifest.packageId, input.seeds);
  const missing = new Set<ChunkId>();
  let bytesWritten = 0;
  const dirs = directoriesOf(input.manifest);
  try {
    await mkdirOne(input.stagingDir);
    for (const dir of dirs) await mkdirOne(pathInside(input.stagingDir, dir));
    for (const file of input.manifest.files) {
      const path = pathInside(input.stagingDir, file.path);
      const handle = await open(path, 'wx', 0o600);
      try {
        // Copies each chunk (so the source may reuse its read window) and writes directly where allowed.
        const out = await StagedFileWriter.open(path, handle);
        try {
          for (const chunk of file.chunks) {
            throwIfCancelled(input.signal, `assembling ${input.manifest.packageId}`);
            const bytes = await source.get(chunk.id, chunk.size);
            if (!bytes) missing.add(chunk.id);
            // Once something is missing the tree will be thrown away: keep looking only to list every gap.
            else if (missing.size === 0) {
              await out.write(bytes);
              bytesWritten += bytes.length;
            }
          }
          if (missing.size === 0) {
            await out.finish();
            await handle.sync();
          }
        } finally {
          await out.close();
        }
      } finally {
        await handle.close();
      }
      if (missing.size === 0) {
        await chmod(path, file.mode & 0o777);
        const mtime = new Date(file.mtime);
        await utimes(path, mtime, mtime);
      }
    }
    if (missing.size === 0) {
      for (const dir of dirs) await fsyncDir(pathInside(input.stagingDir, dir));
      await fsyncDir(input.stagingDir);
    }
  } finally {
    await source.close();
  }
  return { missing: [...missing], bytesWritten };
}

/** Every directory the tree needs (listed ones and parents of files), parents before children. */
export function directoriesOf(manifest: Manifest): string[] {
  const dirs = new Set<string>();
  const addWithParents = (path: string): void => {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) dirs.add(path.slice(0, i));
    dirs.add(path);
  };
  for (const d of manifest.directories) addWithParents(d);
  for (const f of manifest.files) {
    const slash = f.path.lastIndexOf('/');
    if (slash > 0) addWithParents(f.path.slice(0, slash));
  }
  // A parent is a prefix of its children, so it sorts first.
  return [...dirs].sort();
}

interface OpenSource {
  readonly handle: FileHandle;
  /** Opened with O_DIRECT: reads must be aligned (start, length and buffer). */
  readonly direct: boolean;
}

/** Page-aligned read windows, reused across assemblies. */
const windows = new AlignedBufferPool(readWindowBytes, 2);

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Verified chunk bytes from a package's incoming batch files, then from seed ranges (re-hashed). */
export class ChunkSource {
  private window: { readonly file: string; readonly start: number; readonly bytes: Buffer } | null = null;
  private readonly handles = new Map<string, OpenSource | null>();
  private windowBuffer: Buffer | null = null;
  private readonly badSeeds = new Set<string>();

  constructor(
    private readonly incoming: IncomingChunks,
    private readonly packageId: string,
    private readonly seeds: ((id: ChunkId) => readonly SeedRange[]) | null,
  ) {}

  /** The chunk's bytes, hashed and found equal to `id`, or null when no source has them. */
  async get(id: ChunkId, size: number): Promise<Buffer | null> {
    const incoming = await this.fromIncoming(id, size);
    if (incoming) return incoming;
    for (const seed of this.seeds?.(id) ?? []) {
      const key = `${seed.file}\0${seed.offset}`;
      if (seed.size !== size || this.badSeeds.has(key)) continue;
      const bytes = await this.readRange(seed);
      if (bytes && sha256Hex(bytes) === id) return bytes;
      this.badSeeds.add(key);
    }
    return null;
  }

  private async fromIncoming(id: ChunkId, size: number): Promise<Buffer | null> {
    const location = await this.incoming.locate(this.packageId, id);
    if (!location) return null;
    const bytes = location.size === size ? await this.readRange(location) : null;
    if (bytes && sha256Hex(bytes) === id) return bytes;
    // It rotted after it was verified on arrival: drop it so missingChunks asks for it again.
    await this.incoming.drop(this.packageId, id).catch(() => undefined);
    return null;
  }

  /**
   * The range's bytes, read through a window of up to 8 MiB of its file: the next chunks of a batch file
   * (or of a seed tree) usually follow, so one read serves many. The caller hashes what it gets and copies
   * it before asking for the next range: the window's buffer is reused. Reads bypass the page cache where
   * the file system allows (batch files were written that way; a tree's bytes are read once here).
   */
  private async readRange(seed: SeedRange): Promise<Buffer | null> {
    const w = this.window;
    if (
      w &&
      w.file === seed.file &&
      seed.offset >= w.start &&
      seed.offset + seed.size <= w.start + w.bytes.length
    ) {
      return w.bytes.subarray(seed.offset - w.start, seed.offset - w.start + seed.size);
    }
    try {
      const source = await this.handle(seed.file);
      if (!source) return null;
      this.window = null;
      const buffer = (this.windowBuffer ??= bufferOf(windows.take()));
      if (source.direct) {
        const start = Math.floor(seed.offset / DIRECT_ALIGN) * DIRECT_ALIGN;
        if (seed.offset - start + seed.size <= buffer.length) {
          try {
            const { bytesRead } = await source.handle.read(buffer, 0, buffer.length, start);
            if (bytesRead < seed.offset - start + seed.size) return null;
            this.window = { file: seed.file, start, bytes: buffer.subarray(0, bytesRead) };
            return buffer.subarray(seed.offset - start, seed.offset - start + seed.size);
          } catch (e) {
            if (!isDirectRefusal(e)) throw e;
            await this.readBuffered(seed.file);
          }
        }
        // Bigger than the window (a chunk over 8 MiB) or refused direct: read on its own, through the page cache.
        return readRange(seed.file, seed.offset, seed.size);
      }
      if (seed.size > buffer.length) return readRange(seed.file, seed.offset, seed.size);
      const { bytesRead } = await source.handle.read(buffer, 0, buffer.length, seed.offset);
      if (bytesRead < seed.size) return null;
      this.window = { file: seed.file, start: seed.offset, bytes: buffer.subarray(0, bytesRead) };
      return buffer.subarray(0, seed.size);
    } catch {
      // An unreadable seed (removed by another package's switch, EIO, …) is simply not a source.
      return null;
    }
  }

  /** Replaces a file's direct handle by a buffered one (its file system refused a direct read). */
  private async readBuffered(file: string): Promise<void> {
    const old = this.handles.get(file);
    const handle = await open(file, 'r').catch(() => null);
    this.handles.set(file, handle && { handle, direct: false });
    await old?.handle.close().catch(() => undefined);
  }

  private async handle(file: string): Promise<{ handle: FileHandle; direct: boolean } | null> {
    if (this.handles.has(file)) return this.handles.get(file) ?? null;
    if (this.handles.size >= maxOpenSeeds) {
      const [oldest, source] = this.handles.entries().next().value as [string, OpenSource | null];
      this.handles.delete(oldest);
      await source?.handle.close();
    }
    const direct = await openDirectRead(file);
    const handle = direct ?? (await open(file, 'r').catch(() => null));
    const source = handle && { handle, direct: direct !== null };
    this.handles.set(file, source);
    return source;
  }

  async close(): Promise<void> {
    for (const source of this.handles.values()) await source?.handle.close().catch(() => undefined);
    this.handles.clear();
    if (this.windowBuffer)
      windows.give(
        new Uint8Array(this.windowBuffer.buffer, this.windowBuffer.byteOffset, this.windowBuffer.length),
      );
    this.windowBuffer = null;
    this.window = null;
  }
}
