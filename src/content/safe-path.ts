/**
 * Design invariant 5: manifest paths are normalised relative POSIX paths — no `..`, no absolute paths, no
 * NUL or control characters, no drive letters or characters Windows clients cannot create, and unique
 * case-insensitively (clients are Windows).
 */
import { SitecastError } from '../kernel/index.js';

// Characters Windows forbids in names, plus ASCII control characters.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
const forbidden = /[\u0000-\u001f<>:"|?*\\]/;
const reservedNames = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Why `path` is unsafe, or null when it is a safe manifest path. */
export function unsafePathReason(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes('\u0000')) return 'contains a NUL byte';
  if (path.startsWith('/')) return 'is absolute';
  if (/^[a-zA-Z]:/.test(path)) return 'starts with a drive letter';
  if (Buffer.byteLength(path) > 4096) return 'is longer than 4096 bytes';
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return `has a '${segment}' segment`;
    const bad = forbidden.exec(segment);
    if (bad) return `contains the character ${JSON.stringify(bad[0])} that Windows clients cannot use`;
    if (reservedNames.test(segment)) return `uses the reserved Windows name '${segment}'`;
    if (/[. ]$/.test(segment))
      return `has a segment ending in '.' or ' ' ('${segment}'), which Windows strips`;
    if (Buffer.byteLength(segment) > 255) return `has a segment longer than 255 bytes`;
  }
  return null;
}

/** Throws UNSAFE_PATH naming `path` (and `where`, e.g. the source root) when the path is unsafe. */
export function assertSafePath(path: string, where?: string): void {
  const reason = unsafePathReason(path);
  if (reason) {
    throw new SitecastError(
      'UNSAFE_PATH',
      `unsafe name ${JSON.stringify(path)}${where ? ` in ${where}` : ''}: ${reason}`,
      {
        path,
        field: 'path',
      },
    );
  }
}

/**
 * Checks that no two paths collide when compared case-insensitively (Windows clients would see one file).
 * `paths` are files and directories together.
 */
export function assertNoCaseCollisions(paths: Iterable<string>, where?: string): void {
  const seen = new Map<string, string>();
  for (const p of paths) {
    const key = p.normalize('NFC').toLowerCase();
    const other = seen.get(key);
    if (other !== undefined && other !== p) {
      throw new SitecastError(
        'UNSAFE_PATH',
        `names ${JSON.stringify(other)} and ${JSON.stringify(p)}${where ? ` in ${where}` : ''} differ only in case; Windows clients cannot hold both`,
        { path: p, field: 'path', other },
      );
    }
    seen.set(key, p);
  }
}
