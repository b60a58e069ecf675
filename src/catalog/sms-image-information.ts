/** The SDK's view of an image row: SMS_ImageInformation in PascalCase (reference §1, wim.md). */
import type { ImageInformation } from './image-info.repository.js';

export interface SmsImageInformation {
  readonly PackageID: string;
  readonly Index: number;
  readonly Name: string;
  readonly Description: string;
  readonly Architecture: number | null;
  readonly ImageOSVersion: string;
  readonly OSVersion: string;
  readonly Language: string;
  readonly HALType: string;
  readonly ProductType: string;
  readonly Size: number;
  /** ISO 8601, as the AdminService gives DateTime values. */
  readonly CreationDate: string | null;
  readonly Version: string;
}

export function toSmsImageInformation(r: ImageInformation): SmsImageInformation {
  return {
    PackageID: r.packageId,
    Index: r.index,
    Name: r.name,
    Description: r.description,
    Architecture: r.architecture,
    ImageOSVersion: r.imageOsVersion,
    OSVersion: r.imageOsVersion,
    Language: r.language,
    HALType: r.halType,
    ProductType: r.productType,
    Size: r.size,
    CreationDate: r.creationDate === null ? null : new Date(r.creationDate).toISOString(),
    Version: r.version,
  };
}

/** WINDOWS/ARCH as admins read it. */
export function architectureName(arch: number | null): string {
  const names: Readonly<Record<number, string>> = { 0: 'x86', 5: 'ARM', 6: 'IA64', 9: 'x64', 12: 'ARM64' };
  return arch === null ? '' : (names[arch] ?? String(arch));
}
