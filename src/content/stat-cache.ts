/**
 * The stat cache of a package source: what every file looked like (size, mtime, ctime, inode, device) when
 * its last version was snapshotted. A scheduled refresh compares a fresh listing with it and skips an
 * unchanged source without reading a byte (design §3); an explicit RefreshPkgSource always re-reads.
 *
 * The stats are taken BEFORE the snapshot reads the files, so a file written during or after the snapshot
 * differs from its cached stats at the next check: a change is never mistaken for "unchanged".
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { walkSource } from './source-walk.js';

export interface SourceFileStat {
  readonly path: string;
  readonly size: number;
  /** Nanoseconds as decimal strings: ms precision misses same-millisecond rewrites. */
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  readonly ino: string;
  readonly dev: string;
}

export interface SourceStats {
  readonly root: string;
  readonly files: readonly SourceFileStat[];
  readonly directories: readonly string[];
}

const statsSchema = z.object({
  root: z.string(),
  files: z.array(
    z.object({
      path: z.string(),
      size: z.number(),
      mtimeNs: z.string(),
      ctimeNs: z.string(),
      ino: z.string(),
      dev: z.string(),
    }),
  ),
  directories: z.array(z.string()),
});

/** Lists `sourcePath` as a snapshot would and stats every file (no file is opened). */
export async function statSource(sourcePath: string, signal?: AbortSignal): Promise<SourceStats> {
  const tree = await walkSource(sourcePath, signal);
  const files: SourceFileStat[] = [];
  for (const f of tree.files) {
    signal?.throwIfAborted();
    const st = await stat(f.absolutePath, { bigint: true });
    files.push({
      path: f.path,
      size: Number(st.size),
      mtimeNs: String(st.mtimeNs),
      ctimeNs: String(st.ctimeNs),
      ino: String(st.ino),
      dev: String(st.dev),
    });
  }
  return { root: tree.root, files, directories: tree.directories };
}

export function sameStats(a: SourceStats, b: SourceStats): boolean {
  if (a.root !== b.root || a.files.length !== b.files.length) return false;
  if (a.directories.join('\0') !== b.directories.join('\0')) return false;
  return a.files.every((f, i) => {
    const g = b.files[i]!;
    return (
      f.path === g.path &&
      f.size === g.size &&
      f.mtimeNs === g.mtimeNs &&
      f.ctimeNs === g.ctimeNs &&
      f.ino === g.ino &&
      f.dev === g.dev
    );
  });
}

/** One JSON file per package under `<library>/stat-cache/`, replaced atomically. */
export class StatCacheStore {
  constructor(private readonly dir: string) {}

  async get(packageId: string): Promise<SourceStats | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(packageId), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    // A damaged cache only costs a re-read: treat it as absent.
    const parsed = statsSchema.safeParse(safeJson(text));
    return parsed.success ? parsed.data : undefined;
  }

  async put(packageId: string, stats: SourceStats): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.#path(packageId)}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(stats));
    await rename(tmp, this.#path(packageId));
  }

  #path(packageId: string): string {
    if (!/^[A-Z0-9]{8}$/.test(packageId)) throw new Error(`bad PackageID ${JSON.stringify(packageId)}`);
    return join(this.dir, `${packageId}.json`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
