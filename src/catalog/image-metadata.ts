/** From a WIM's metadata (src/wim) to what the catalog stores: ImageProperty and SMS_ImageInformation rows. */
import { readWimMetadata, type WimImage, type WimMetadata } from '../wim/index.js';
import { isSitecastError, SitecastError } from '../kernel/index.js';
import type { ImageInformation } from './image-info.repository.js';

/**
 * Reads the header and XML of the WIM at `path`. A reader error keeps its code and its own location
 * (`wimField`, `offset`) but names `field`, the parameter the admin gave (PkgSourcePath, SourceImagePath).
 */
export async function readImageMetadata(
  path: string,
  field: string,
  signal?: AbortSignal,
): Promise<WimMetadata> {
  try {
    return await readWimMetadata(path, signal ? { signal } : {});
  } catch (e) {
    if (!isSitecastError(e) || e.code !== 'INVALID_PARAMETER') throw e;
    const { field: wimField, ...rest } = e.details;
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${field} ${path} is not a readable WIM: ${e.message}`,
      { ...rest, field, path, ...(wimField !== undefined && { wimField }) },
      { cause: e },
    );
  }
}

/** An ImageIndex must name an image of the WIM; the error lists the ones there are. */
export function assertImageIndex(meta: WimMetadata, index: number | null | undefined, path: string): void {
  if (index === null || index === undefined) return;
  if (meta.images.some((i) => i.index === index)) return;
  const available = meta.images.map((i) => i.index);
  throw new SitecastError(
    'INVALID_PARAMETER',
    `ImageIndex ${index} does not exist in ${path} (available: ${available.join(', ') || 'none'})`,
    { field: 'ImageIndex', path, available },
  );
}

/** MAJOR.MINOR.BUILD.SPBUILD, '' when the image has no WINDOWS/VERSION. */
export function osVersionOf(image: WimImage): string {
  const v = image.windows?.version;
  return v ? `${v.major}.${v.minor}.${v.build}.${v.spBuild}` : '';
}

/** One SMS_ImageInformation row per image, mapped as reference wim.md says. */
export function imageRowsOf(packageId: string, meta: WimMetadata, version: string): ImageInformation[] {
  return meta.images.map((image) => {
    const w = image.windows;
    return {
      packageId,
      index: image.index,
      name: image.name,
      description: image.description,
      edition: w?.editionId || image.flags,
      architecture: w?.arch ?? null,
      imageOsVersion: osVersionOf(image),
      language: w ? w.defaultLanguage || (w.languages[0] ?? '') : '',
      halType: w?.hal ?? '',
      productType: w?.productType ?? '',
      size: image.totalBytes,
      creationDate: image.creationTime,
      version,
    };
  });
}
