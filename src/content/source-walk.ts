/**
 * Lists a package source: a folder (recursively: files and empty directories) or a single file (an image
 * package's .wim). Every manifest path is checked here, before a byte is read: safe names (safe-path.ts),
 * no case collisions, symbolic links only to targets inside the source, no special files.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';
import type { Stats } from 'node:fs';
import { SitecastError, toSitecastError } from '../kernel/index.js';
import { cancelledError } from './read-error.js';
import { assertNoCaseCollisions, assertSafePath } from './safe-path.js';

export interface SourceFile {
  /** Manifest path: relative POSIX, checked. */
  readonly path: string;
  /** Where to read it from (a followed symbolic link's real target). */
  readonly absolutePath: string;
  /** Size when listed; the snapshot stats again before reading. */
  readonly size: number;
}

export interface SourceTree {
  /** The source path, resolved. */
  readonly root: string;
  readonly kind: 'folder' | 'file';
  /** Sorted by path (UTF-8 byte order). */
  readonly files: readonly SourceFile[];
  /** Directories without any entry, sorted. */
  readonly directories: readonly string[];
}

const FIELD = 'PkgSourcePath';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const STAT_BATCH = 64;

/** Lists the source at `sourcePath` (an absolute path to a folder or a file). */
export async function walkSource(sourcePath: string, signal?: AbortSignal): Promise<SourceTree> {
  if (typeof sourcePath !== 'string' || sourcePath.trim() === '') {
    throw new SitecastError('INVALID_PARAMETER', `${FIELD} is empty`, { field: FIELD });
  }
  if (sourcePath.includes('\u0000') || !isAbsolute(sourcePath)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${FIELD} must be an absolute path, got ${JSON.stringify(sourcePath)}`,
      { field: FIELD, path: sourcePath },
    );
  }
  const root = resolve(sourcePath);
  let st: Stats;
  try {
    st = await stat(root);
  } catch (e) {
    throw rootError(e, root);
  }
  if (st.isFile()) {
    const name = basename(root);
    assertSafePath(name, root);
    return {
      root,
      kind: 'file',
      files: [{ path: name, absolutePath: root, size: st.size }],
      directories: [],
    };
  }
  if (!st.isDirectory()) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${FIELD} ${root} is a ${specialKind(st)}, not a folder or a file`,
      { field: FIELD, path: root },
    );
  }
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (e) {
    throw rootError(e, root);
  }
  const walk = new Walk(root, realRoot, signal);
  await walk.dir(root, '', realRoot, new Set([realRoot]));
  const files = walk.files.sort((a, b) => compareUtf8(a.path, b.path));
  assertNoCaseCollisions([...files.map((f) => f.path), ...walk.allDirs], root);
  return { root, kind: 'folder', files, directories: walk.emptyDirs.sort(compareUtf8) };
}

class Walk {
  readonly files: SourceFile[] = [];
  readonly allDirs: string[] = [];
  readonly emptyDirs: string[] = [];

  constructor(
    readonly root: string,
    readonly realRoot: string,
    readonly signal: AbortSignal | undefined,
  ) {}

  /** Walks `abs` (real path `real`, manifest path `rel`); `ancestors` are the real paths above it. */
  async dir(abs: string, rel: string, real: string, ancestors: ReadonlySet<string>): Promise<void> {
    if (this.signal?.aborted) throw cancelledError(this.root);
    let raw: Buffer[];
    try {
      raw = await readdir(abs, { encoding: 'buffer' });
    } catch (e) {
      throw rel === '' ? rootError(e, abs) : entryError(e, abs);
    }
    if (raw.length === 0 && rel !== '') this.emptyDirs.push(rel);
    const names = raw.map((n) => decodeName(n, rel, this.root));
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = names.slice(i, i + STAT_BATCH);
      const stats = await Promise.all(
        batch.map((name) => lstat(join(abs, name)).catch((e: unknown) => entryError(e, join(abs, name)))),
      );
      for (const [j, name] of batch.entries()) {
        const ls = stats[j]!;
        if (ls instanceof SitecastError) throw ls;
        const childRel = rel === '' ? name : `${rel}/${name}`;
        assertSafePath(childRel, this.root);
        await this.entry(join(abs, name), childRel, join(real, name), ls, ancestors);
      }
    }
  }

  async entry(
    abs: string,
    rel: string,
    real: string,
    ls: Stats,
    ancestors: ReadonlySet<string>,
  ): Promise<void> {
    if (ls.isFile()) {
      this.files.push({ path: rel, absolutePath: abs, size: ls.size });
    } else if (ls.isDirectory()) {
      this.allDirs.push(rel);
      await this.dir(abs, rel, real, new Set([...ancestors, real]));
    } else if (ls.isSymbolicLink()) {
      await this.link(abs, rel, ancestors);
    } else {
      throw special(rel, ls, this.root);
    }
  }

  /** A link is followed when its target is inside the source; it then stands for the target. */
  async link(abs: string, rel: string, ancestors: ReadonlySet<string>): Promise<void> {
    let target: string;
    try {
      target = await realpath(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') {
        throw unsafe(
          rel,
          this.root,
          code === 'ENOENT'
            ? `is a symbolic link whose target does not exist`
            : `is a symbolic link that loops on itself`,
        );
      }
      throw entryError(e, abs);
    }
    if (
      target !== this.realRoot &&
      !target.startsWith(this.realRoot.endsWith(sep) ? this.realRoot : this.realRoot + sep)
    ) {
      throw unsafe(rel, this.root, `is a symbolic link to ${target}, outside the package source`);
    }
    let st: Stats;
    try {
      st = await stat(target);
    } catch (e) {
      throw entryError(e, abs);
    }
    if (st.isFile()) {
      this.files.push({ path: rel, absolutePath: target, size: st.size });
    } else if (st.isDirectory()) {
      if (ancestors.has(target)) {
        throw unsafe(rel, this.root, `is a symbolic link to its own parent folder ${target}, a loop`);
      }
      this.allDirs.push(rel);
      await this.dir(target, rel, target, new Set([...ancestors, target]));
    } else {
      throw special(rel, st, this.root);
    }
  }
}

function decodeName(raw: Buffer, parentRel: string, root: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    const shown = raw.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    const where = parentRel === '' ? shown : `${parentRel}/${shown}`;
    throw unsafe(where, root, 'has a name that is not valid UTF-8');
  }
}

function unsafe(rel: string, root: string, reason: string): SitecastError {
  return new SitecastError('UNSAFE_PATH', `${JSON.stringify(rel)} in ${root} ${reason}`, {
    path: rel,
    field: 'path',
  });
}

function special(rel: string, st: Stats, root: string): SitecastError {
  return unsafe(rel, root, `is a ${specialKind(st)}; only files, folders and symbolic links can be packaged`);
}

function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'FIFO (named pipe)';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  return 'special file';
}

function rootError(e: unknown, root: string): SitecastError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SitecastError('SOURCE_NOT_FOUND', `package source ${root} does not exist`, {
      field: FIELD,
      path: root,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new SitecastError(
      'SOURCE_ACCESS_DENIED',
      `package source ${root} is not readable (permission denied)`,
      {
        field: FIELD,
        path: root,
      },
    );
  }
  return toSitecastError(e, `reading package source ${root}`);
}

function entryError(e: unknown, abs: string): SitecastError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new SitecastError(
      'SOURCE_ACCESS_DENIED',
      `${abs} in the package source is not readable (permission denied)`,
      {
        path: abs,
      },
    );
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SitecastError('SOURCE_CHANGING', `${abs} disappeared while the package source was listed`, {
      path: abs,
    });
  }
  return toSitecastError(e, `listing ${abs}`);
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
