/**
 * Crash-safe file primitives shared by the pack and manifest stores: a file becomes visible only through a
 * rename after its bytes are fsync'd, and the rename itself is made durable by fsyncing the directory.
 */
import { open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SitecastError, toSitecastError } from '../kernel/index.js';

/**
 * Maps an fs failure inside the store to a SitecastError. Only "disk full" keeps its errno meaning: the
 * generic mapping turns ENOENT/EACCES into SOURCE_* codes, which would blame a package source, not the store.
 */
export function storeIoError(e: unknown, what: string): SitecastError {
  if (e instanceof SitecastError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return toSitecastError(e, what);
  const message = e instanceof Error ? e.message : String(e);
  return new SitecastError('FAILED', `${what}: ${message}`, { errno: code }, { cause: e });
}

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

/** Makes renames and unlinks inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * How old a temp file (or a pack not yet indexed) must be before opening a store removes it as a crash
 * leftover. A younger one may be a live write of another process: a CLI command opens the library while
 * `sitecast server` snapshots or compacts, and deleting its temp pack failed the snapshot or, between the
 * pack and index renames of a compaction, lost the only copy of live chunks. Git prunes temporary objects
 * the same way; a crash leftover costs disk space until a later open, nothing else.
 */
export const LEFTOVER_GRACE_MS = 15 * 60_000;

/** Removes `path` when it was last written more than LEFTOVER_GRACE_MS ago; true if removed (or gone). */
export async function removeIfAbandoned(path: string, now = Date.now()): Promise<boolean> {
  try {
    if (now - (await stat(path)).mtimeMs < LEFTOVER_GRACE_MS) return false;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
  await removeQuietly(path);
  return true;
}

/** Best-effort removal for cleanup paths; a file already gone is fine. */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // Cleanup must never mask the error that triggered it.
  }
}

/** Writes `bytes` to `tmpPath`, fsyncs, renames onto `path`; on failure no temp file is left behind. */
export async function writeFileDurable(
  path: string,
  tmpPath: string,
  bytes: Uint8Array,
  syncDir = true,
): Promise<void> {
  try {
    const fh = await open(tmpPath, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmpPath, path);
    if (syncDir) await fsyncDir(dirname(path));
  } catch (e) {
    await removeQuietly(tmpPath);
    throw storeIoError(e, `writing ${path}`);
  }
}
