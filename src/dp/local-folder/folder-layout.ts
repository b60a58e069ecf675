/**
 * Where a folder DP keeps things. Everything but the presented `<root>/<PackageID>` links lives under
 * `<root>/.sitecast/`, so an admin listing the root sees one entry per package.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SitecastError } from '../../kernel/index.js';
import type { ChunkId } from '../../content/index.js';

const packageIdPattern = /^[A-Z0-9]{3}[0-9A-F]{5}$/;
const chunkIdPattern = /^[0-9a-f]{64}$/;
/** `<version>-<first 16 hex of the manifest id>.<8 random hex>`: unique per build, so a rebuild never collides. */
const versionDirPattern = /^(\d+)-([0-9a-f]{16})\.([0-9a-f]{8})$/;
/** `<PackageID>.<version>.<manifestId>` */
const manifestNamePattern = /^([A-Z0-9]{3}[0-9A-F]{5})\.(\d+)\.([0-9a-f]{64})$/;

export const INTERNAL_DIR = '.sitecast';
/** Prefix of every temporary file name (recovery deletes them). */
export const TEMP_PREFIX = '.tmp-';

export function isPackageId(name: string): boolean {
  return packageIdPattern.test(name);
}

/** Package ids become directory names: anything else is refused before it reaches a path. */
export function assertPackageId(packageId: string): void {
  if (!packageIdPattern.test(packageId)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `PackageID ${JSON.stringify(packageId)} must be a site code and 5 hex digits`,
      { field: 'packageId' },
    );
  }
}

/** Chunk ids become file names: anything but 64 lowercase hex digits is refused. */
export function assertChunkId(id: ChunkId): void {
  if (!chunkIdPattern.test(id)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `chunk id ${JSON.stringify(id)} must be 64 lowercase hex digits`,
      {
        field: 'id',
      },
    );
  }
}

export interface ParsedManifestName {
  readonly packageId: string;
  readonly version: number;
  readonly manifestId: string;
}

export function parseManifestName(name: string): ParsedManifestName | null {
  const m = manifestNamePattern.exec(name);
  if (!m) return null;
  return { packageId: m[1]!, version: Number(m[2]), manifestId: m[3]! };
}

export function parseVersionDirName(name: string): { version: number; shortId: string } | null {
  const m = versionDirPattern.exec(name);
  return m ? { version: Number(m[1]), shortId: m[2]! } : null;
}

export function randomHex8(): string {
  return randomBytes(4).toString('hex');
}

/** Absolute paths of one DP root. */
export class FolderLayout {
  readonly internal: string;
  readonly manifests: string;
  readonly versions: string;
  readonly incoming: string;
  readonly staging: string;
  readonly planned: string;
  readonly tmp: string;

  constructor(readonly root: string) {
    this.internal = join(root, INTERNAL_DIR);
    this.manifests = join(this.internal, 'manifests');
    this.versions = join(this.internal, 'versions');
    this.incoming = join(this.internal, 'incoming');
    this.staging = join(this.internal, 'staging');
    this.planned = join(this.internal, 'planned');
    this.tmp = join(this.internal, 'tmp');
  }

  /** The internal directories, parents first. */
  get internalDirs(): readonly string[] {
    return [
      this.internal,
      this.manifests,
      this.versions,
      this.incoming,
      this.staging,
      this.planned,
      this.tmp,
    ];
  }

  /** What clients read: a symlink to the current version tree. */
  presented(packageId: string): string {
    return join(this.root, packageId);
  }

  /** The symlink's target, relative to the root so the DP folder can be moved or mounted elsewhere. */
  linkTarget(packageId: string, versionDir: string): string {
    return `${INTERNAL_DIR}/versions/${packageId}/${versionDir}`;
  }

  /** The version directory a link target names, or null when it is not one of ours. */
  versionDirOfTarget(packageId: string, target: string): string | null {
    const prefix = `${INTERNAL_DIR}/versions/${packageId}/`;
    if (!target.startsWith(prefix)) return null;
    const dir = target.slice(prefix.length);
    return parseVersionDirName(dir) ? dir : null;
  }

  packageVersions(packageId: string): string {
    return join(this.versions, packageId);
  }

  versionTree(packageId: string, versionDir: string): string {
    return join(this.versions, packageId, versionDir);
  }

  manifestRecord(packageId: string, version: number, manifestId: string): string {
    return join(this.manifests, `${packageId}.${version}.${manifestId}`);
  }

  packageIncoming(packageId: string): string {
    return join(this.incoming, packageId);
  }

  /** Where the version the site announced for the package is built as its chunks arrive (planned-version.ts). */
  packagePlanned(packageId: string): string {
    return join(this.planned, packageId);
  }

  /** Staging dirs are named `<PackageID>.<version dir>` so the ones of a package can be found by prefix. */
  stagingDir(packageId: string, versionDir: string): string {
    return join(this.staging, `${packageId}.${versionDir}`);
  }

  static versionDirName(version: number, manifestId: string): string {
    return `${version}-${manifestId.slice(0, 16)}.${randomHex8()}`;
  }
}
