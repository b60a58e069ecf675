/** Checks of a manifest received for activation, before anything is built from it. */
import { decodeManifest, manifestIdOf } from '../../content/index.js';
import type { Manifest } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';
import { assertPackageId } from './folder-layout.js';

/** Chunks are buffered whole; a manifest asking for more per chunk is refused rather than exhausting memory. */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * The manifest `bytes` describe, checked: they hash to `manifestId` (HASH_MISMATCH), decode with safe
 * paths (UNSAFE_PATH / CORRUPT_DATA from decodeManifest), and name this package and version.
 */
export function decodeReceivedManifest(
  packageId: string,
  version: number,
  manifestId: string,
  bytes: Buffer,
): Manifest {
  assertPackageId(packageId);
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new SitecastError('INVALID_PARAMETER', `version ${version} must be a non-negative integer`, {
      field: 'version',
    });
  }
  if (!/^[0-9a-f]{64}$/.test(manifestId)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `manifest id ${JSON.stringify(manifestId)} must be 64 hex digits`,
      {
        field: 'manifestId',
      },
    );
  }
  const actual = manifestIdOf(bytes);
  if (actual !== manifestId) {
    throw new SitecastError(
      'HASH_MISMATCH',
      `manifest for ${packageId} hashes to ${actual}, not ${manifestId}`,
      {
        field: 'manifest',
        manifestId,
      },
    );
  }
  const manifest = decodeManifest(bytes);
  if (manifest.packageId !== packageId) {
    throw new SitecastError('INVALID_PARAMETER', `manifest is for ${manifest.packageId}, not ${packageId}`, {
      field: 'packageId',
    });
  }
  if (manifest.sourceVersion !== version) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `manifest is version ${manifest.sourceVersion}, not ${version}`,
      {
        field: 'version',
      },
    );
  }
  for (const file of manifest.files) {
    const big = file.chunks.find((c) => c.size > MAX_CHUNK_BYTES);
    if (big) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `manifest file ${file.path}: chunk ${big.id} exceeds ${MAX_CHUNK_BYTES} bytes`,
        {
          field: 'chunks',
          path: file.path,
        },
      );
    }
  }
  return manifest;
}
