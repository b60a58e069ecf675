/**
 * From a request URL to a file inside one version's tree, refusing anything that could leave it (design
 * invariant 5). The raw URL is parsed here, not the router's decoded parameters, so an encoded `/`, `\` or
 * `..` is judged after decoding each segment on its own: `%2e%2e`, `%2f` and `%5c` can never become path
 * syntax. The last line of defence is after realpath: whatever a name or an in-tree symlink resolves to
 * must still be inside the tree, or it does not exist as far as clients are concerned.
 */
import { realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { SitecastError } from '../../kernel/index.js';
import { isPackageId } from '../local-folder/folder-layout.js';

export interface ContentPath {
  /** Upper-cased: IIS on a Configuration Manager DP matches the id case-insensitively, clients rely on it. */
  readonly packageId: string;
  /** Decoded, each checked: no empty, `.`, `..`, `/`, `\`, NUL or control character. */
  readonly segments: readonly string[];
  /** The URL ended with `/` (a directory listing is asked for). */
  readonly trailingSlash: boolean;
  /** The URL path below the mount point as the client sent it, for messages. */
  readonly requested: string;
}

/** Parses `<prefix>/<pkg>[/<segment>…][/]`; `prefix` is where the plugin is mounted (`/content`). */
export function parseContentPath(rawUrl: string, prefix: string): ContentPath {
  const rawPath = rawUrl.split(/[?#]/, 1)[0] ?? '';
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  if (!rawPath.startsWith(base)) throw invalidPath(rawPath, 'is not under the content mount point');
  const requested = rawPath.slice(base.length);
  const slash = requested.indexOf('/');
  const rawPackage = slash < 0 ? requested : requested.slice(0, slash);
  const packageId = decodeSegment(rawPackage, requested).toUpperCase();
  if (!isPackageId(packageId)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `PackageID ${JSON.stringify(rawPackage)} in ${JSON.stringify(requested)} must be a site code and 5 hex digits`,
      { field: 'packageId', path: requested },
    );
  }
  if (slash < 0) return { packageId, segments: [], trailingSlash: false, requested };
  const parts = requested.slice(slash + 1).split('/');
  const trailingSlash = parts[parts.length - 1] === '';
  if (trailingSlash) parts.pop();
  const segments = parts.map((part) => {
    if (part === '') throw invalidPath(requested, 'has an empty segment (`//`)');
    return checkSegment(decodeSegment(part, requested), requested);
  });
  return { packageId, segments, trailingSlash, requested };
}

/**
 * The real path of `segments` inside `tree` (itself a real path), or null when it does not exist or
 * resolves outside the tree: a symlink pointing out is never followed, and is not told apart from absence.
 */
export async function locateInTree(
  tree: string,
  segments: readonly string[],
): Promise<{ readonly absolute: string; readonly relative: string } | null> {
  let absolute: string;
  try {
    absolute = await realpath(join(tree, ...segments));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw e;
  }
  if (absolute !== tree && !absolute.startsWith(tree + sep)) return null;
  return { absolute, relative: relative(tree, absolute).split(sep).join('/') };
}

function decodeSegment(raw: string, requested: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidPath(requested, `has a malformed percent-encoding in ${JSON.stringify(raw)}`);
  }
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const forbidden = /[/\\\u0000-\u001f\u007f]/;

function checkSegment(segment: string, requested: string): string {
  if (segment === '.' || segment === '..') throw invalidPath(requested, 'has a `.` or `..` segment');
  if (forbidden.test(segment)) {
    throw invalidPath(requested, `has a segment with a slash, backslash, NUL or control character`);
  }
  return segment;
}

function invalidPath(requested: string, why: string): SitecastError {
  return new SitecastError('INVALID_PARAMETER', `content path ${JSON.stringify(requested)} ${why}`, {
    field: 'path',
    path: requested,
  });
}
