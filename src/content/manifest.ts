/**
 * Manifest codec. Canonical bytes are compact JSON with a fixed key order and files sorted by path, so
 * equal content always gives the same bytes and the same id (the SHA-256 of those bytes).
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { SitecastError } from '../kernel/index.js';
import { assertNoCaseCollisions, unsafePathReason } from './safe-path.js';
import type { Manifest, ManifestFile } from './types.js';

const chunkId = z.string().regex(/^[0-9a-f]{64}$/, 'chunk id must be 64 lowercase hex digits');
const uint = z.number().int().nonnegative();

const manifestSchema = z.object({
  format: z.literal(1),
  packageId: z.string().regex(/^[A-Z0-9]{3}[0-9A-F]{5}$/, 'PackageID must be a site code and 5 hex digits'),
  sourceVersion: uint,
  files: z.array(
    z.object({
      path: z.string(),
      size: uint,
      mode: uint,
      mtime: z.number().int(),
      chunks: z.array(z.object({ id: chunkId, size: z.number().int().positive() })),
    }),
  ),
  directories: z.array(z.string()),
});

/** One-shot (crypto.hash): no Hash object per call, which a DP receiving 16k chunks per GiB felt in GC. */
export function sha256Hex(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'hex');
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The manifest with its files and directories in canonical order (UTF-8 byte order of paths), as decoded
 * manifests always are: the same object when it already is.
 */
export function inCanonicalOrder(manifest: Manifest): Manifest {
  const sorted = <T>(list: readonly T[], key: (t: T) => string): boolean =>
    list.every((x, i) => i === 0 || compareUtf8(key(list[i - 1]!), key(x)) < 0);
  if (sorted(manifest.files, (f) => f.path) && sorted(manifest.directories, (d) => d)) return manifest;
  return {
    ...manifest,
    files: [...manifest.files].sort((a, b) => compareUtf8(a.path, b.path)),
    directories: [...manifest.directories].sort(compareUtf8),
  };
}

/** Canonical bytes of a manifest (it is validated first). */
export function encodeManifest(manifest: Manifest): Buffer {
  validateManifest(manifest);
  const { files, directories } = inCanonicalOrder(manifest);
  const canonical = {
    format: 1,
    packageId: manifest.packageId,
    sourceVersion: manifest.sourceVersion,
    files: files.map((f) => ({
      path: f.path,
      size: f.size,
      mode: f.mode,
      mtime: f.mtime,
      chunks: f.chunks.map((c) => ({ id: c.id, size: c.size })),
    })),
    directories,
  };
  return Buffer.from(JSON.stringify(canonical), 'utf8');
}

/** The manifest id: SHA-256 of its canonical bytes. */
export function manifestIdOf(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/**
 * Parses manifest bytes. When `expectedId` is given the bytes must hash to it (CORRUPT_DATA otherwise).
 * The result is fully validated: safe paths, no case collisions, chunk sizes adding up to file sizes,
 * canonical form.
 */
export function decodeManifest(bytes: Uint8Array, expectedId?: string): Manifest {
  if (expectedId !== undefined && manifestIdOf(bytes) !== expectedId) {
    throw new SitecastError('CORRUPT_DATA', `manifest bytes do not hash to ${expectedId}`, {
      field: 'manifest',
      manifestId: expectedId,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new SitecastError('CORRUPT_DATA', `manifest is not valid JSON: ${(e as Error).message}`, {
      field: 'manifest',
    });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? issue.path.join('.') : 'manifest';
    throw new SitecastError('CORRUPT_DATA', `manifest field ${field}: ${issue?.message ?? 'invalid'}`, {
      field,
    });
  }
  const manifest = parsed.data as Manifest;
  validateManifest(manifest);
  return manifest;
}

function validateManifest(m: Manifest): void {
  const all: string[] = [];
  for (const f of m.files) {
    const reason = unsafePathReason(f.path);
    if (reason)
      throw new SitecastError('UNSAFE_PATH', `manifest path ${JSON.stringify(f.path)} ${reason}`, {
        path: f.path,
        field: 'path',
      });
    const sum = f.chunks.reduce((n, c) => n + c.size, 0);
    if (sum !== f.size) {
      throw new SitecastError(
        'CORRUPT_DATA',
        `manifest file ${f.path}: chunk sizes add up to ${sum}, file size is ${f.size}`,
        {
          path: f.path,
          field: 'size',
        },
      );
    }
    all.push(f.path);
  }
  for (const d of m.directories) {
    const reason = unsafePathReason(d);
    if (reason)
      throw new SitecastError('UNSAFE_PATH', `manifest directory ${JSON.stringify(d)} ${reason}`, {
        path: d,
        field: 'path',
      });
  }
  // A directory listed explicitly may also be the parent of files; only distinct entries can collide.
  assertNoCaseCollisions(new Set([...all, ...m.directories]), `package ${m.packageId}`);
  const fileSet = new Set(all);
  if (fileSet.size !== all.length)
    throw new SitecastError('CORRUPT_DATA', `manifest lists a file twice`, { field: 'files' });
  for (const d of m.directories) {
    if (fileSet.has(d))
      throw new SitecastError('CORRUPT_DATA', `manifest path ${d} is both a file and a directory`, {
        path: d,
      });
  }
  for (const p of all) {
    // A file cannot also be a parent directory of another file.
    const slash = p.lastIndexOf('/');
    if (slash > 0 && fileSet.has(p.slice(0, slash))) {
      throw new SitecastError(
        'CORRUPT_DATA',
        `manifest path ${p.slice(0, slash)} is both a file and a directory`,
        { path: p },
      );
    }
  }
}

/** Total bytes and the set of distinct chunks a manifest references. */
export function manifestStats(m: Manifest): {
  totalBytes: number;
  chunkCount: number;
  uniqueChunks: Map<string, number>;
} {
  const uniqueChunks = new Map<string, number>();
  let totalBytes = 0;
  let chunkCount = 0;
  for (const f of m.files) {
    totalBytes += f.size;
    for (const c of f.chunks) {
      chunkCount++;
      uniqueChunks.set(c.id, c.size);
    }
  }
  return { totalBytes, chunkCount, uniqueChunks };
}

export type { ManifestFile };
