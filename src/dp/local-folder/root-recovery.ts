/**
 * Brings a DP root back to a consistent state after a crash, and reads what it presents.
 *
 * The commit point of an activation is the rename of the `<root>/<PackageID>` symlink. Whatever a killed
 * process left around it is resolved here: staging trees and temp files are deleted; a version tree the
 * link does not point to is discarded (it was never presented; the retry rebuilds it from the incoming
 * chunks, which are only deleted after the switch); manifest records of versions not presented are
 * deleted; incoming batch files whose chunks the presented version all contains (the switch happened, the
 * cleanup did not) are deleted, and so are temp files of batches killed mid-write; a planned version
 * (planned-version.ts) stays, with what landed in it, unless the presented version has caught up with it. A link whose tree or manifest record is missing or corrupt is unpresented, so what
 * clients read is always a complete version that was verified when it was built.
 */
import { lstat, readFile, readlink, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeManifest } from '../../content/index.js';
import type { CurrentVersion } from './chunk-index.js';
import type { IncomingChunks } from './incoming-chunks.js';
import { parsePlanRecordName } from './planned-version.js';
import { errnoOf, fsyncDir, listNames, mkdirOne, removeTree } from './durable-fs.js';
import {
  type FolderLayout,
  TEMP_PREFIX,
  isPackageId,
  parseManifestName,
  parseVersionDirName,
} from './folder-layout.js';

/** The version dir `<root>/<packageId>` links to, or null when it is absent or not a sitecast link. */
export async function presentedVersionDir(layout: FolderLayout, packageId: string): Promise<string | null> {
  try {
    const s = await lstat(layout.presented(packageId));
    if (!s.isSymbolicLink()) return null;
    return layout.versionDirOfTarget(packageId, await readlink(layout.presented(packageId)));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Repairs the root (see the file comment) and returns the version each package presents. */
export async function recoverRoot(layout: FolderLayout, incoming: IncomingChunks): Promise<CurrentVersion[]> {
  for (const dir of layout.internalDirs) await mkdirOne(dir);
  for (const name of await listNames(layout.staging)) await removeTree(join(layout.staging, name));
  for (const name of await listNames(layout.tmp)) await removeTree(join(layout.tmp, name));

  const manifestNames = await listNames(layout.manifests);
  const current: CurrentVersion[] = [];
  let unpresented = false;
  for (const name of await listNames(layout.root)) {
    if (!isPackageId(name)) continue;
    const versionDir = await presentedVersionDir(layout, name);
    if (versionDir === null) continue;
    const found = await loadPresented(layout, name, versionDir, manifestNames);
    if (found) current.push(found);
    else {
      await unlink(layout.presented(name));
      unpresented = true;
    }
  }
  if (unpresented) await fsyncDir(layout.root);

  const byPackage = new Map(current.map((c) => [c.packageId, c]));
  for (const name of manifestNames) {
    const parsed = parseManifestName(name);
    const keep = parsed && byPackage.get(parsed.packageId)?.manifestId === parsed.manifestId;
    if (!keep) await removeTree(join(layout.manifests, name));
  }
  for (const packageId of await listNames(layout.versions)) {
    const keep = byPackage.get(packageId)?.versionDir;
    if (keep === undefined) {
      await removeTree(join(layout.versions, packageId));
      continue;
    }
    for (const dir of await listNames(layout.packageVersions(packageId))) {
      if (dir !== keep) await removeTree(join(layout.packageVersions(packageId), dir));
    }
  }
  // A plan the presented version has caught up with (killed between the switch and its cleanup) is done.
  for (const name of await listNames(layout.planned)) {
    const presented = byPackage.get(name);
    const records = isPackageId(name)
      ? (await listNames(layout.packagePlanned(name))).flatMap((n) => parsePlanRecordName(n) ?? [])
      : [];
    const done = records.length === 0 || (presented && records.every((r) => r.version <= presented.version));
    if (done) await removeTree(join(layout.planned, name));
  }
  for (const packageId of await listNames(layout.incoming)) {
    const presented = byPackage.get(packageId);
    if (presented) {
      // Loading the package's index also deletes its temp files.
      await incoming.release(
        packageId,
        new Set(presented.manifest.files.flatMap((f) => f.chunks.map((c) => c.id))),
      );
      continue;
    }
    for (const name of await listNames(layout.packageIncoming(packageId))) {
      if (name.startsWith(TEMP_PREFIX)) await removeTree(join(layout.packageIncoming(packageId), name));
    }
  }
  return current;
}

async function loadPresented(
  layout: FolderLayout,
  packageId: string,
  versionDir: string,
  manifestNames: readonly string[],
): Promise<CurrentVersion | null> {
  const parsedDir = parseVersionDirName(versionDir);
  if (!parsedDir) return null;
  try {
    if (!(await stat(layout.versionTree(packageId, versionDir))).isDirectory()) return null;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw e;
  }
  for (const name of manifestNames) {
    const parsed = parseManifestName(name);
    if (
      !parsed ||
      parsed.packageId !== packageId ||
      parsed.version !== parsedDir.version ||
      !parsed.manifestId.startsWith(parsedDir.shortId)
    ) {
      continue;
    }
    try {
      const manifest = decodeManifest(await readFile(join(layout.manifests, name)), parsed.manifestId);
      if (manifest.packageId !== packageId || manifest.sourceVersion !== parsed.version) continue;
      return { packageId, version: parsed.version, manifestId: parsed.manifestId, versionDir, manifest };
    } catch {
      // A record that does not hash to its name cannot vouch for the tree: try the next one, else unpresent.
    }
  }
  return null;
}
