/** The SDK's view of a package: SMS_Package / SMS_ImagePackage properties in PascalCase (reference §1). */
import { readScheduleString } from '../schedule/index.js';
import { PackageType, type Package } from './package-types.js';

export type SmsPackage = Record<string, string | number | boolean | null | readonly unknown[]>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The class a package belongs to. */
export function smsClassOf(p: Package): string {
  const entry = Object.entries(PackageType).find(([, code]) => code === p.packageType);
  return entry ? entry[0] : 'SMS_Package';
}

/**
 * Properties as the SMS Provider returns them. Lazy properties (ImageProperty) only when `lazy` is set:
 * listings leave them out, a single-instance read includes them.
 */
export function toSmsPackage(p: Package, options: { lazy?: boolean } = {}): SmsPackage {
  const out: SmsPackage = {
    PackageID: p.packageId,
    PackageType: p.packageType,
    Name: p.name,
    Version: p.version,
    Description: p.description,
    Manufacturer: p.manufacturer,
    Language: p.language,
    PkgSourcePath: p.pkgSourcePath,
    PkgSourceFlag: p.pkgSourceFlag,
    PkgFlags: p.pkgFlags,
    Priority: p.priority,
    SourceVersion: p.sourceVersion,
    StoredPkgVersion: p.storedPkgVersion,
    SourceDate: iso(p.sourceDate),
    LastRefreshTime: iso(p.lastRefreshTime),
    SourceSite: p.sourceSite,
    RefreshSchedule: p.refreshSchedule ? readScheduleString(p.refreshSchedule) : [],
    RefreshPkgSourceFlag: false,
    ActionInProgress: p.actionInProgress,
    SedoObjectVersion: p.sedoObjectVersion,
    ForcedDisconnectEnabled: p.forcedDisconnectEnabled,
    ForcedDisconnectDelay: p.forcedDisconnectDelay,
    ForcedDisconnectNumRetries: p.forcedDisconnectNumRetries,
    PackageSize: p.packageSizeKb,
  };
  if (p.packageType === PackageType.SMS_ImagePackage) {
    out.ImageIndex = p.imageIndex;
    if (options.lazy) out.ImageProperty = p.imageProperty;
  }
  return out;
}
