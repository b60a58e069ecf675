/**
 * Test material for DP tests: package versions cut into fixed-size chunks (the FastCDC chunker lives
 * elsewhere; a DP does not care how chunks were cut), and readers of the trees a DP presents.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeManifest, manifestIdOf, sha256Hex } from '../../content/index.js';
import type { ChunkId, Manifest, ManifestFile } from '../../content/index.js';
import type { DpChunk } from '../dp-adapter.js';

export interface FixtureFile {
  readonly path: string;
  readonly bytes: Buffer;
  readonly mode?: number;
  readonly mtime?: number;
}

export interface BuiltVersion {
  readonly manifest: Manifest;
  readonly manifestBytes: Buffer;
  readonly manifestId: string;
  readonly version: number;
  /** Every distinct chunk of the version. */
  readonly chunks: ReadonlyMap<ChunkId, Buffer>;
  readonly files: ReadonlyMap<string, Buffer>;
  /** Chunk ids in manifest order, without repeats. */
  readonly ids: readonly ChunkId[];
}

export const defaultMtime = Date.UTC(2026, 10, 1, 12, 0, 0, 123);

export function buildVersion(
  packageId: string,
  version: number,
  files: readonly FixtureFile[],
  options: { readonly chunkSize?: number; readonly directories?: readonly string[] } = {},
): BuiltVersion {
  const chunkSize = options.chunkSize ?? 4096;
  const chunks = new Map<ChunkId, Buffer>();
  const manifestFiles: ManifestFile[] = files.map((f) => {
    const refs: { id: ChunkId; size: number }[] = [];
    for (let offset = 0; offset < f.bytes.length; offset += chunkSize) {
      const piece = f.bytes.subarray(offset, Math.min(offset + chunkSize, f.bytes.length));
      const id = sha256Hex(piece);
      chunks.set(id, Buffer.from(piece));
      refs.push({ id, size: piece.length });
    }
    return {
      path: f.path,
      size: f.bytes.length,
      mode: f.mode ?? 0o644,
      mtime: f.mtime ?? defaultMtime,
      chunks: refs,
    };
  });
  const manifest: Manifest = {
    format: 1,
    packageId,
    sourceVersion: version,
    files: manifestFiles,
    directories: options.directories ?? [],
  };
  const manifestBytes = encodeManifest(manifest);
  return {
    manifest,
    manifestBytes,
    manifestId: manifestIdOf(manifestBytes),
    version,
    chunks,
    files: new Map(files.map((f) => [f.path, f.bytes])),
    ids: [...chunks.keys()],
  };
}

/** The chunks of `built` whose ids are in `ids`, ready for putChunks. */
export function chunksOf(built: BuiltVersion, ids: readonly ChunkId[] = built.ids): DpChunk[] {
  return ids.map((id) => {
    const bytes = built.chunks.get(id);
    if (!bytes) throw new Error(`chunk ${id} is not part of version ${built.version}`);
    return { id, bytes };
  });
}

export function randomFile(size: number): Buffer {
  return randomBytes(size);
}

/** The same pseudo-random bytes for the same seed, in every process (SHA-256 in counter mode). */
export function seededFile(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, n = 0; offset < size; offset += 32, n++) {
    createHash('sha256').update(`${seed}:${n}`).digest().copy(out, offset);
  }
  return out;
}

/** Every regular file under `dir`, by relative POSIX path. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else out.set(path, await readFile(join(dir, path)));
    }
  };
  await walk('');
  return out;
}

/** Path → SHA-256 of each file: cheap to compare and readable when a test fails. */
export function digests(files: ReadonlyMap<string, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) out[path] = sha256Hex(bytes);
  return out;
}

/** Digests of the tree under `dir`, to compare with `digests(version.files)`. */
export async function treeDigests(dir: string): Promise<Record<string, string>> {
  return digests(await readTree(dir));
}

export function sameFiles(a: ReadonlyMap<string, Buffer>, b: ReadonlyMap<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [path, bytes] of a) {
    const other = b.get(path);
    if (!other || !other.equals(bytes)) return false;
  }
  return true;
}

/** Inverts one byte of `path` at `offset` (a rotten disk block, for tests). */
export async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, 'r+');
  const one = Buffer.alloc(1);
  await handle.read(one, 0, 1, offset);
  one[0] = one[0]! ^ 0xff;
  await handle.write(one, 0, 1, offset);
  await handle.close();
}
