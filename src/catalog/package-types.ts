/** Package classes, flags and codes of reference §1, spelled as in the SDK. */

export const PackageType = {
  SMS_Package: 0,
  SMS_DriverPackage: 3,
  SMS_ImagePackage: 257,
  SMS_BootImagePackage: 258,
  SMS_OperatingSystemInstallPackage: 259,
} as const;
export type PackageTypeCode = (typeof PackageType)[keyof typeof PackageType];

export const PkgSourceFlag = { NoSource: 1, Direct: 2 } as const;

export const PkgFlags = {
  DO_NOT_DOWNLOAD: 0x01000000,
  PERSIST_IN_CACHE: 0x02000000,
  USE_BINARY_DELTA_REP: 0x04000000,
  NO_PACKAGE: 0x10000000,
  DISTRIBUTE_ON_DEMAND: 0x40000000,
} as const;

export const ActionInProgress = { None: 0, Update: 1, Add: 2, Delete: 3 } as const;

export const Priority = { High: 1, Normal: 2, Low: 3 } as const;

/** A package as the catalog keeps it (camelCase; `toSmsPackage` gives the SDK's PascalCase shape). */
export interface Package {
  readonly packageId: string;
  readonly packageType: number;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly manufacturer: string;
  readonly language: string;
  readonly pkgSourcePath: string | null;
  readonly pkgSourceFlag: number;
  readonly pkgFlags: number;
  readonly priority: number;
  readonly sourceVersion: number;
  readonly storedPkgVersion: number;
  readonly sourceDate: number | null;
  readonly lastRefreshTime: number | null;
  readonly sourceSite: string;
  readonly actionInProgress: number;
  readonly sedoObjectVersion: string;
  readonly imageProperty: string | null;
  readonly imageIndex: number | null;
  /** RefreshSchedule as its schedule string (16 hex digits per token), null when none. */
  readonly refreshSchedule: string | null;
  /** When the refresh scheduler last looked at the schedule; null: not since it was set. */
  readonly scheduleCheckedAt: number | null;
  readonly packageSizeKb: number;
  readonly forcedDisconnectEnabled: boolean;
  readonly forcedDisconnectDelay: number;
  readonly forcedDisconnectNumRetries: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface PackageVersion {
  readonly packageId: string;
  readonly sourceVersion: number;
  readonly manifestId: string;
  readonly totalBytes: number;
  readonly fileCount: number;
  readonly chunkCount: number;
  /** The refresh job that created it, so a re-run of that job does not create another. */
  readonly jobId: number | null;
  readonly createdAt: number;
}
