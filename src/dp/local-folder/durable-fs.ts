/**
 * The few file-system moves of the folder DP: write to a temp name, fsync, rename, fsync the directory.
 * Directories are created one level at a time (never `recursive`), so a vanished DP root is reported
 * rather than silently recreated.
 */
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TEMP_PREFIX, randomHex8 } from './folder-layout.js';

/** Creates `path` whose parent must exist; an existing directory is fine. */
export async function mkdirOne(path: string, mode = 0o755): Promise<void> {
  try {
    await mkdir(path, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Makes a directory's entries (creations, renames, deletions) survive a power cut. */
export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `bytes` to `path` so that `path` holds either the old file or the whole new one. With
 * `durable: false` the data is not fsync'd: for pending chunks, which are re-hashed before use, a power
 * cut costs a re-send, not correctness, and an fsync per chunk would dominate the transfer.
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  options: { readonly durable: boolean },
): Promise<void> {
  const temp = join(dirname(path), `${TEMP_PREFIX}${randomHex8()}`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  if (options.durable) await fsyncDir(dirname(path));
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Errno of a Node error, or undefined. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The names in `dir`; none when it does not exist. */
export async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
}

/** `size` bytes of `file` at `offset`, or null when the file cannot be read or is shorter. */
export async function readRange(file: string, offset: number, size: number): Promise<Buffer | null> {
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = await handle.read(buffer, 0, size, offset);
      return bytesRead === size ? buffer : null;
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}
