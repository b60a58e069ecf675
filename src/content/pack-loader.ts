/**
 * Opening a pack store after a clean stop or a crash. Temp files are leftovers of an unfinished write and
 * are removed; a pack without an index never became visible (its session had not flushed) and is removed
 * too — both only once older than LEFTOVER_GRACE_MS, since a younger one may be another process's write
 * in progress (the sequence numbers still move past them). A pack whose index is unreadable, or whose pack file is missing or of the wrong size, is corruption
 * rather than a crash (indexes are written temp-then-rename): it is moved to `quarantine/` with a warning,
 * so the rest of the library stays usable and an admin can inspect the files.
 */
import { mkdir, readFile, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SitecastError } from '../kernel/index.js';
import { fsyncDir, isErrno, removeIfAbandoned, storeIoError } from './durable-file.js';
import { decodeIndex, indexFileName, packFileName, parsePackFileName } from './pack-format.js';
import type { PackIndex } from './pack-index.js';

export interface LoadReport {
  readonly packsLoaded: number;
  readonly tempFilesRemoved: readonly string[];
  readonly unindexedPacksRemoved: readonly string[];
  /** Files moved to the quarantine directory, with why. */
  readonly quarantined: readonly { readonly file: string; readonly reason: string }[];
  /** The sequence number the next pack gets. */
  readonly nextSeq: number;
}

export async function loadPacks(
  dir: string,
  quarantineDir: string,
  index: PackIndex,
  warn: (message: string) => void,
): Promise<LoadReport> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw storeIoError(e, `reading pack directory ${dir}`);
  }
  let maxSeq = 0;
  const tempFilesRemoved: string[] = [];
  const packs = new Set<number>();
  const indexes = new Set<number>();
  for (const name of names) {
    const parsed = parsePackFileName(name);
    if (!parsed) continue;
    maxSeq = Math.max(maxSeq, parsed.seq);
    if (parsed.temp) {
      if (await removeIfAbandoned(join(dir, name))) tempFilesRemoved.push(name);
    } else if (parsed.kind === 'pack') packs.add(parsed.seq);
    else indexes.add(parsed.seq);
  }
  const unindexedPacksRemoved: string[] = [];
  for (const seq of packs) {
    if (indexes.has(seq)) continue;
    if (await removeIfAbandoned(join(dir, packFileName(seq)))) unindexedPacksRemoved.push(packFileName(seq));
  }
  const quarantined: { file: string; reason: string }[] = [];
  let packsLoaded = 0;
  // Ascending, and later packs take over ids: a chunk re-put after verify found it bad must win.
  for (const seq of [...indexes].sort((a, b) => a - b)) {
    const idxName = indexFileName(seq);
    try {
      const decoded = decodeIndex(await readFile(join(dir, idxName)), idxName);
      const packStat = await statOf(join(dir, packFileName(seq)));
      const packSize = packStat?.size ?? null;
      if (packSize === null) throw corrupt(idxName, `its pack ${packFileName(seq)} is missing`);
      if (packSize !== decoded.packSize) {
        throw corrupt(idxName, `pack is ${packSize} bytes, index says ${decoded.packSize}`);
      }
      const sealedAt = packStat?.mtimeMs ?? 0;
      index.addPack({ seq, size: decoded.packSize, sealedAt, records: decoded.records }, () => true);
      packsLoaded++;
    } catch (e) {
      if (!(e instanceof SitecastError && e.code === 'CORRUPT_DATA'))
        throw storeIoError(e, `loading ${idxName}`);
      await quarantine(dir, quarantineDir, seq);
      quarantined.push({ file: idxName, reason: e.message });
      warn(`${e.message}; pack ${seq} moved to ${quarantineDir}, its chunks are no longer in the store`);
    }
  }
  if (tempFilesRemoved.length + unindexedPacksRemoved.length + quarantined.length > 0) await fsyncDir(dir);
  return { packsLoaded, tempFilesRemoved, unindexedPacksRemoved, quarantined, nextSeq: maxSeq + 1 };
}

function corrupt(idxName: string, why: string): SitecastError {
  return new SitecastError('CORRUPT_DATA', `pack index ${idxName} is corrupt: ${why}`, { path: idxName });
}

async function statOf(path: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    return await stat(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

async function quarantine(dir: string, quarantineDir: string, seq: number): Promise<void> {
  await mkdir(quarantineDir, { recursive: true });
  const suffix = `.${Date.now()}`;
  for (const name of [indexFileName(seq), packFileName(seq)]) {
    try {
      await rename(join(dir, name), join(quarantineDir, name + suffix));
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw storeIoError(e, `quarantining ${name}`);
    }
  }
}
