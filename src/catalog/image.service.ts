import { SitecastError } from '../kernel/index.js';
import type { WimMetadata } from '../wim/index.js';
import { readImageMetadata } from './image-metadata.js';
import { PackageType, type Package } from './package-types.js';
import { checkSource, type PackageService } from './package.service.js';

/**
 * Reads a `.wim` (absolute path) and returns its metadata, creating nothing: what
 * `SMS_ImagePackage.GetImageProperties` and `image inspect` show. Needs no site.
 */
export async function inspectImage(SourceImagePath: string, signal?: AbortSignal): Promise<WimMetadata> {
  await checkSource(SourceImagePath, PackageType.SMS_ImagePackage, 'SourceImagePath');
  return readImageMetadata(SourceImagePath, 'SourceImagePath', signal);
}

/** The SMS_ImagePackage methods about a WIM's content: GetImageProperties and ReloadImageProperties. */
export class ImageService {
  constructor(private readonly packages: PackageService) {}

  /** `SMS_ImagePackage.GetImageProperties(SourceImagePath)` (static: creates nothing). */
  async getImageProperties(SourceImagePath: string): Promise<{ ImageProperty: string }> {
    return { ImageProperty: (await inspectImage(SourceImagePath)).xml };
  }

  /**
   * `ReloadImageProperties()`: re-reads the package's WIM and replaces ImageProperty and its
   * SMS_ImageInformation rows in one transaction (SedoObjectVersion moves). SourceVersion does not change.
   */
  async reloadImageProperties(packageId: string): Promise<Package> {
    const pkg = await this.packages.get(packageId);
    if (pkg.packageType !== PackageType.SMS_ImagePackage || !pkg.pkgSourcePath) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `package ${packageId} is not an image package with a .wim source`,
        { field: 'PackageID', packageId },
      );
    }
    await checkSource(pkg.pkgSourcePath, pkg.packageType);
    const wim = await readImageMetadata(pkg.pkgSourcePath, 'PkgSourcePath');
    await this.packages.transaction((trx) => this.packages.recordImageMetadata(packageId, wim, trx));
    return this.packages.get(packageId);
  }
}
