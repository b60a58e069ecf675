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
import { fsyncDir, mkdirOne } from './durable-fs.js';
import type { IncomingChunks } from './incoming-chunks.js';

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
/** Bytes gathered before one positional writev; buffers per call stay under IOV_MAX (1024). */
const writeGatherBytes = 8 * 1024 * 1024;
const writeGatherBuffers = 512;

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
      const out = new GatheredWriter(handle);
      try {
        let offset = 0;
        for (const chunk of file.chunks) {
          throwIfCancelled(input.signal, `assembling ${input.manifest.packageId}`);
          const bytes = await source.get(chunk.id, chunk.size);
          if (!bytes) missing.add(chunk.id);
          // Once something is missing the tree will be thrown away: keep looking only to list every gap.
          else if (missing.size === 0) {
            await out.write(bytes, offset);
            bytesWritten += bytes.length;
          }
          offset += chunk.size;
        }
        if (missing.size === 0) {
          await out.flush();
          await handle.sync();
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
function directoriesOf(manifest: Manifest): string[] {
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

/** Positional writes of consecutive ranges gathered into one writev of up to 8 MiB. */
class GatheredWriter {
  private buffers: Buffer[] = [];
  private at = 0;
  private bytes = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(bytes: Buffer, position: number): Promise<void> {
    if (this.buffers.length > 0 && this.at + this.bytes !== position) await this.flush();
    if (this.buffers.length === 0) this.at = position;
    this.buffers.push(bytes);
    this.bytes += bytes.length;
    if (this.bytes >= writeGatherBytes || this.buffers.length >= writeGatherBuffers) await this.flush();
  }

  /** Writes what is gathered, all of it: a short write (a filling disk) continues until the error comes. */
  async flush(): Promise<void> {
    let buffers = this.buffers;
    let position = this.at;
    this.buffers = [];
    this.at += this.bytes;
    this.bytes = 0;
    while (buffers.length > 0) {
      const { bytesWritten } = await this.handle.writev(buffers, position);
      if (bytesWritten === 0)
        throw new SitecastError('DISK_FULL', `writing at offset ${position}: nothing was written`);
      position += bytesWritten;
      let skip = bytesWritten;
      while (buffers.length > 0 && skip >= buffers[0]!.length) {
        skip -= buffers[0]!.length;
        buffers = buffers.slice(1);
      }
      if (skip > 0) buffers = [buffers[0]!.subarray(skip), ...buffers.slice(1)];
    }
  }
}

class ChunkSource {
  private window: { readonly file: string; readonly start: number; readonly bytes: Buffer } | null = null;
  private readonly handles = new Map<string, FileHandle | null>();
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
   * (or of a seed tree) usually follow, so one read serves many. The caller hashes what it gets.
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
      const handle = await this.handle(seed.file);
      if (!handle) return null;
      // A new buffer per window: slices of the previous one may still wait in a writer.
      const buffer = Buffer.allocUnsafe(Math.max(seed.size, readWindowBytes));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, seed.offset);
      if (bytesRead < seed.size) return null;
      this.window = { file: seed.file, start: seed.offset, bytes: buffer.subarray(0, bytesRead) };
      return buffer.subarray(0, seed.size);
    } catch {
      // An unreadable seed (removed by another package's switch, EIO, …) is simply not a source.
      return null;
    }
  }

  private async handle(file: string): Promise<FileHandle | null> {
    if (this.handles.has(file)) return this.handles.get(file) ?? null;
    if (this.handles.size >= maxOpenSeeds) {
      const [oldest, handle] = this.handles.entries().next().value as [string, FileHandle | null];
      this.handles.delete(oldest);
      await handle?.close();
    }
    const handle = await open(file, 'r').catch(() => null);
    this.handles.set(file, handle);
    return handle;
  }

  async close(): Promise<void> {
    for (const handle of this.handles.values()) await handle?.close().catch(() => undefined);
    this.handles.clear();
  }
}
