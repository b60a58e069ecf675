/**
 * The manifest of an activate request: whole canonical bytes (`application/octet-stream`), or a delta
 * against the manifest the DP presents now (`application/vnd.sitecast.manifest-delta`, design §3). A delta
 * is rebuilt here and checked against the manifest id of the request, so the store only ever sees whole,
 * verified manifest bytes. A delta made against another base answers STALE_OBJECT: the site then sends the
 * whole manifest.
 */
import type { FastifyRequest } from 'fastify';
import { applyManifestDelta, manifestDeltaBaseId, MANIFEST_DELTA_MEDIA_TYPE } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';
import type { FolderDpStore } from '../local-folder/index.js';
import { bodyOf } from './request-input.js';

export function manifestOf(
  request: FastifyRequest,
  store: FolderDpStore,
  packageId: string,
  manifestId: string,
): Buffer {
  const given = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (given !== MANIFEST_DELTA_MEDIA_TYPE) return bodyOf(request, 'application/octet-stream');
  const delta = bodyOf(request, MANIFEST_DELTA_MEDIA_TYPE);
  const base = store.currentManifest(packageId);
  if (!base) {
    throw new SitecastError(
      'STALE_OBJECT',
      `a manifest delta for ${packageId} needs a base, and this DP presents no version of it`,
      { field: 'baseManifestId', baseManifestId: manifestDeltaBaseId(delta), packageId },
    );
  }
  return applyManifestDelta(base.manifest, base.manifestId, delta, manifestId).bytes;
}
