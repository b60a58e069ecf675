/**
 * Reads a local-folder DP from the outside, the way an auditor would after a crash: what `<root>/<PackageID>`
 * presents (link → version tree → manifest record), and which chunks wait in `.sitecast/incoming/`. Layout:
 * src/dp/local-folder/README.md. Only for use while no process owns the DP.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeManifest, manifestStats, type Manifest } from '../../src/content/index.js';

export interface PresentedVersion {
  readonly version: number;
  readonly manifestId: string;
  readonly manifest: Manifest;
  /** Unique chunk id → size, of the presented version. */
  readonly chunks: ReadonlyMap<string, number>;
}

export interface IncomingChunk {
  readonly id: string;
  readonly size: number;
  /** The frame's bytes hash to its id (a received chunk must always be verified). */
  readonly verified: boolean;
}

/**
 * The version `<root>/<packageId>` presents, or null when nothing is presented. Throws when the link is
 * not a sitecast link or its manifest record is missing or does not hash to its name.
 */
export async function presentedVersion(root: string, packageId: string): Promise<PresentedVersion | null> {
  const link = join(root, packageId);
  const stat = await lstat(link).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (!stat) return null;
  if (!stat.isSymbolicLink()) throw new Error(`${link} is not a symlink`);
  const target = await readlink(link);
  const m = /^\.sitecast\/versions\/([^/]+)\/(\d+)-([0-9a-f]{16})\.[0-9a-f]{8}$/.exec(target);
  if (!m || m[1] !== packageId) throw new Error(`${link} → ${target}: not a version tree of ${packageId}`);
  const version = Number(m[2]);
  const records = (await readdir(join(root, '.sitecast', 'manifests'))).filter((n) =>
    n.startsWith(`${packageId}.${version}.${m[3]}`),
  );
  if (records.length !== 1)
    throw new Error(`${link} → ${target}: ${records.length} manifest records match (${records.join(', ')})`);
  const manifestId = records[0]!.split('.')[2]!;
  const manifest = decodeManifest(
    await readFile(join(root, '.sitecast', 'manifests', records[0]!)),
    manifestId,
  );
  if (manifest.sourceVersion !== version || manifest.packageId !== packageId)
    throw new Error(
      `${link}: record ${records[0]} describes ${manifest.packageId} v${manifest.sourceVersion}`,
    );
  return { version, manifestId, manifest, chunks: manifestStats(manifest).uniqueChunks };
}

/**
 * Chunks received for a pending version of `packageId`, each re-hashed: the frames `[32-byte id][u32 LE
 * length][bytes]` of its `<seq>.chunks` batch files (temp files excluded; a zeroed id is a dropped chunk),
 * and the chunks landed in its planned version (`plannedChunks`, verified by construction).
 */
export async function incomingChunks(root: string, packageId: string): Promise<IncomingChunk[]> {
  const dir = join(root, '.sitecast', 'incoming', packageId);
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  const out: IncomingChunk[] = [];
  for (const name of names) {
    if (!/^\d+\.chunks$/.test(name)) continue;
    const file = await readFile(join(dir, name));
    for (let at = 0; at + 36 <= file.length;) {
      const size = file.readUInt32LE(at + 32);
      if (at + 36 + size > file.length) break;
      const id = file.toString('hex', at, at + 32);
      const bytes = file.subarray(at + 36, at + 36 + size);
      if (!/^0+$/.test(id))
        out.push({ id, size, verified: createHash('sha256').update(bytes).digest('hex') === id });
      at += 36 + size;
    }
  }
  for (const [id, size] of plannedChunks(root, packageId)) out.push({ id, size, verified: true });
  return out;
}

/**
 * Chunk id → size of the chunks landed in the DP folder's planned version of `packageId` (none without a
 * plan): those whose every place in `planned/<pkg>/tree` holds their bytes, as the DP finds them again after
 * a restart.
 */
export function plannedChunks(root: string, packageId: string): Map<string, number> {
  const planDir = join(root, '.sitecast', 'planned', packageId);
  const landed = new Map<string, number>();
  let record: string | undefined;
  try {
    record = readdirSync(planDir).find((n) => /^\d+\.[0-9a-f]{64}\.manifest$/.test(n));
  } catch {
    return landed;
  }
  if (!record) return landed;
  const manifest = decodeManifest(readFileSync(join(planDir, record)));
  const matched = new Map<string, { size: number; places: number; good: number }>();
  for (const file of manifest.files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(planDir, 'tree', ...file.path.split('/')));
    } catch {
      bytes = Buffer.alloc(0);
    }
    let offset = 0;
    for (const c of file.chunks) {
      const m = matched.get(c.id) ?? { size: c.size, places: 0, good: 0 };
      m.places++;
      const piece = bytes.subarray(offset, offset + c.size);
      if (piece.length === c.size && createHash('sha256').update(piece).digest('hex') === c.id) m.good++;
      matched.set(c.id, m);
      offset += c.size;
    }
  }
  for (const [id, m] of matched) if (m.good === m.places) landed.set(id, m.size);
  return landed;
}
