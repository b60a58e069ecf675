/**
 * One version of a package, pinned for the length of a request. `<dp>/<PackageID>` is a link switched
 * atomically to each new tree and the old tree is deleted right after, so a request resolves it once,
 * realpaths it once, and answers from that real tree only (design invariant 1: old or new, never a mix).
 */
import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SitecastError } from '../../kernel/index.js';
import { parseVersionDirName } from '../local-folder/folder-layout.js';

export interface ContentResolver {
  /** The package's current version as a plain file tree, or null when the DP does not hold it. */
  resolve(packageId: string): Promise<{ treeRoot: string; manifestId: string; version: number } | null>;
}

export interface ContentVersion {
  readonly packageId: string;
  readonly version: number;
  readonly manifestId: string;
  /** Real path of the version's tree: never the switching link. */
  readonly tree: string;
}

/** Switches seen while opening one request before giving up with DP_UNAVAILABLE (retryable). */
const MAX_ATTEMPTS = 4;

/**
 * Runs `work` on the current version; when it fails because that version's tree was deleted under it
 * (a switch landed mid-request, before any byte was answered), starts again on the new version.
 */
export async function withCurrentVersion<T>(
  resolver: ContentResolver,
  packageId: string,
  work: (version: ContentVersion) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const version = await currentVersion(resolver, packageId, attempt);
    try {
      return await work(version);
    } catch (e) {
      if (attempt < MAX_ATTEMPTS && !(await isDirectory(version.tree))) continue;
      throw e;
    }
  }
}

async function currentVersion(
  resolver: ContentResolver,
  packageId: string,
  firstAttempt: number,
): Promise<ContentVersion> {
  for (let attempt = firstAttempt; attempt <= MAX_ATTEMPTS; attempt++) {
    // A resolver may learn of a switch a moment after the link moves: give it that moment.
    if (attempt > 1) await sleep(10 * (attempt - 1));
    const found = await resolver.resolve(packageId);
    if (!found) {
      throw new SitecastError('NOT_FOUND', `package ${packageId} is not on this distribution point`, {
        field: 'packageId',
        packageId,
      });
    }
    const tree = await realpath(found.treeRoot).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // removed or switched meanwhile
      throw e;
    });
    if (tree !== null && (await sameVersion(resolver, packageId, found, tree))) {
      return { packageId, version: found.version, manifestId: found.manifestId, tree };
    }
  }
  throw new SitecastError(
    'DP_UNAVAILABLE',
    `package ${packageId} changed version ${MAX_ATTEMPTS} times while being opened; retry`,
    { packageId },
  );
}

/**
 * The resolver's answer and the link's target may straddle a switch. A FolderDpStore tree is named
 * `<version>-<16 hex of the manifest id>.<rand>`, which settles it; any other tree is checked by asking
 * the resolver again after the realpath: the same manifest on both sides means the tree is that version.
 */
async function sameVersion(
  resolver: ContentResolver,
  packageId: string,
  found: { readonly manifestId: string; readonly version: number },
  tree: string,
): Promise<boolean> {
  const named = parseVersionDirName(basename(tree));
  if (named) return named.version === found.version && found.manifestId.startsWith(named.shortId);
  const again = await resolver.resolve(packageId);
  return again?.manifestId === found.manifestId;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
