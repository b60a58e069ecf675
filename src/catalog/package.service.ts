import { constants as fsc } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Transaction } from 'kysely';
import type { Database } from '../db/index.js';
import { SitecastError, toSitecastError, type Clock } from '../kernel/index.js';
import { checkScheduleToken, readScheduleString, writeScheduleString } from '../schedule/index.js';
import {
  ActionInProgress,
  PackageType,
  PkgSourceFlag,
  type Package,
  type PackageVersion,
} from './package-types.js';
import { assertSourcePathShape, parsePackageProperties, type PackageWritable } from './package.schemas.js';
import type { PackageFilter, PackageRepository } from './package.repository.js';
import type { ImageInformation, ImageInfoRepository } from './image-info.repository.js';
import { assertImageIndex, imageRowsOf, readImageMetadata } from './image-metadata.js';
import type { WimMetadata } from '../wim/index.js';

export interface CreatePackageInput extends PackageWritable {
  readonly Name: string;
}

/** What kind of source a package class takes. */
function sourceKind(packageType: number): 'file' | 'folder' {
  return packageType === PackageType.SMS_ImagePackage ? 'file' : 'folder';
}

/**
 * Checks that a package source exists and has the right shape: an image package's source is a readable
 * `.wim` file, other packages' sources are readable folders.
 */
export async function checkSource(path: string, packageType: number, field = 'PkgSourcePath'): Promise<void> {
  assertSourcePathShape(path, field);
  const kind = sourceKind(packageType);
  if (kind === 'file' && !/\.wim$/i.test(path)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${field} ${path} must be a .wim file for an image package`,
      { field, path },
    );
  }
  let st;
  try {
    st = await stat(path);
    await access(path, fsc.R_OK);
  } catch (e) {
    throw toSitecastError(e, `${field} ${path}`);
  }
  if (kind === 'file' && !st.isFile()) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${field} ${path} is not a file (an image package takes a .wim file)`,
      { field, path },
    );
  }
  if (kind === 'folder' && !st.isDirectory()) {
    throw new SitecastError('INVALID_PARAMETER', `${field} ${path} is not a folder`, { field, path });
  }
}

export interface VersionCommit {
  readonly packageId: string;
  /** The SourceVersion the snapshot was taken against; the commit fails if the package moved on. */
  readonly previousVersion: number;
  readonly manifestId: string;
  readonly totalBytes: number;
  readonly fileCount: number;
  readonly chunkCount: number;
  readonly jobId: number | null;
}

/** Packages and image packages: creation, properties, PackageID allocation, versions. */
export class PackageService {
  constructor(
    private readonly repo: PackageRepository,
    private readonly clock: Clock,
    private readonly siteCode: string,
    private readonly images: ImageInfoRepository,
  ) {}

  /** Creates an SMS_Package (type 0) or SMS_ImagePackage (type 257); the source is checked first. */
  async create(packageType: number, input: CreatePackageInput): Promise<Package> {
    if (packageType !== PackageType.SMS_Package && packageType !== PackageType.SMS_ImagePackage) {
      throw new SitecastError(
        'NOT_SUPPORTED',
        `PackageType ${packageType} is not supported yet (0 and 257 are)`,
        { field: 'PackageType' },
      );
    }
    const props = parsePackageProperties(input);
    if (!props.Name)
      throw new SitecastError('INVALID_PARAMETER', 'property Name is required', { field: 'Name' });
    if (props.RefreshPkgSourceFlag) {
      throw new SitecastError('INVALID_PARAMETER', 'RefreshPkgSourceFlag cannot be set on create', {
        field: 'RefreshPkgSourceFlag',
      });
    }
    const sourcePath = props.PkgSourcePath ?? null;
    const flag = props.PkgSourceFlag ?? (sourcePath ? PkgSourceFlag.Direct : PkgSourceFlag.NoSource);
    if (packageType === PackageType.SMS_ImagePackage && !sourcePath) {
      throw new SitecastError('INVALID_PARAMETER', 'an image package needs PkgSourcePath (a .wim file)', {
        field: 'PkgSourcePath',
      });
    }
    if (flag === PkgSourceFlag.Direct && !sourcePath) {
      throw new SitecastError('NO_SOURCE', 'PkgSourceFlag is 2 (direct) but PkgSourcePath is empty', {
        field: 'PkgSourcePath',
      });
    }
    if (sourcePath) await checkSource(sourcePath, packageType);
    // An image package knows what its WIM holds from the start: ImageProperty and the image rows are
    // written with the package row, and a file that is not a WIM creates nothing.
    let wim: WimMetadata | undefined;
    if (packageType === PackageType.SMS_ImagePackage && sourcePath) {
      wim = await readImageMetadata(sourcePath, 'PkgSourcePath');
      assertImageIndex(wim, props.ImageIndex, sourcePath);
    }
    const now = this.clock.now();
    return this.repo.transaction(async (trx) => {
      const packageId = await this.repo.allocatePackageId(this.siteCode, trx);
      await this.repo.insert(
        {
          package_id: packageId,
          package_type: packageType,
          name: props.Name!,
          version: props.Version ?? '',
          description: props.Description ?? '',
          manufacturer: props.Manufacturer ?? '',
          language: props.Language ?? '',
          pkg_source_path: sourcePath,
          pkg_source_flag: flag,
          pkg_flags: props.PkgFlags ?? 0,
          priority: props.Priority ?? 2,
          source_version: 0,
          stored_pkg_version: 0,
          source_date: null,
          last_refresh_time: null,
          source_site: this.siteCode,
          action_in_progress: ActionInProgress.None,
          sedo_object_version: 1,
          image_property: wim?.xml ?? null,
          image_index: props.ImageIndex ?? null,
          refresh_schedule: null,
          schedule_checked_at: null,
          package_size_kb: 0,
          forced_disconnect_enabled: props.ForcedDisconnectEnabled ? 1 : 0,
          forced_disconnect_delay: props.ForcedDisconnectDelay ?? 5,
          forced_disconnect_num_retries: props.ForcedDisconnectNumRetries ?? 2,
          created_at: now,
          updated_at: now,
        },
        trx,
      );
      if (wim) await this.images.replace(packageId, imageRowsOf(packageId, wim, props.Version ?? ''), trx);
      return this.repo.get(packageId, trx);
    });
  }

  async get(packageId: string): Promise<Package> {
    assertPackageId(packageId);
    return this.repo.get(packageId);
  }

  find(packageId: string, trx?: Transaction<Database>): Promise<Package | undefined> {
    return this.repo.find(packageId, trx);
  }

  list(filter?: PackageFilter): Promise<Package[]> {
    return this.repo.list(filter);
  }

  /**
   * Writes properties. `sedoObjectVersion`, when given, must be the current one (STALE_OBJECT otherwise).
   * Returns the package and whether RefreshPkgSourceFlag was written true (the caller then refreshes).
   */
  async update(
    packageId: string,
    input: unknown,
    sedoObjectVersion?: string,
  ): Promise<{ package: Package; refreshRequested: boolean }> {
    const props = parsePackageProperties(input);
    const current = await this.get(packageId);
    const expected = sedoObjectVersion === undefined ? undefined : Number(sedoObjectVersion);
    if (
      expected !== undefined &&
      (!Number.isInteger(expected) || String(expected) !== current.sedoObjectVersion)
    ) {
      throw staleError(packageId, sedoObjectVersion!, current.sedoObjectVersion);
    }
    const sourcePath = props.PkgSourcePath === undefined ? current.pkgSourcePath : props.PkgSourcePath;
    const flag = props.PkgSourceFlag ?? current.pkgSourceFlag;
    if (props.PkgSourcePath !== undefined && props.PkgSourcePath !== null)
      await checkSource(props.PkgSourcePath, current.packageType);
    if (flag === PkgSourceFlag.Direct && !sourcePath) {
      throw new SitecastError('NO_SOURCE', 'PkgSourceFlag is 2 (direct) but PkgSourcePath is empty', {
        field: 'PkgSourcePath',
      });
    }
    if (current.packageType === PackageType.SMS_ImagePackage && !sourcePath) {
      throw new SitecastError('INVALID_PARAMETER', 'an image package needs PkgSourcePath (a .wim file)', {
        field: 'PkgSourcePath',
      });
    }
    const isImage = current.packageType === PackageType.SMS_ImagePackage;
    const schedule = props.RefreshSchedule === undefined ? undefined : scheduleString(props.RefreshSchedule);
    if ((schedule ?? current.refreshSchedule) && flag !== PkgSourceFlag.Direct) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `RefreshSchedule needs PkgSourceFlag 2 (direct source); package ${packageId} has PkgSourceFlag ${flag}`,
        { field: 'RefreshSchedule' },
      );
    }
    // A new WIM must parse and an ImageIndex must exist in it; ImageProperty itself follows at the next
    // RefreshPkgSource or ReloadImageProperties, which record it with the content it describes.
    if (isImage && sourcePath && (props.PkgSourcePath !== undefined || (props.ImageIndex ?? null) !== null)) {
      const wim = await readImageMetadata(sourcePath, 'PkgSourcePath');
      assertImageIndex(
        wim,
        props.ImageIndex === undefined ? current.imageIndex : props.ImageIndex,
        sourcePath,
      );
    }
    const changes = {
      ...(props.Name !== undefined && { name: props.Name }),
      ...(props.Version !== undefined && { version: props.Version }),
      ...(props.Description !== undefined && { description: props.Description }),
      ...(props.Manufacturer !== undefined && { manufacturer: props.Manufacturer }),
      ...(props.Language !== undefined && { language: props.Language }),
      ...(props.PkgSourcePath !== undefined && { pkg_source_path: props.PkgSourcePath }),
      ...(props.PkgSourceFlag !== undefined && { pkg_source_flag: props.PkgSourceFlag }),
      ...(props.PkgFlags !== undefined && { pkg_flags: props.PkgFlags }),
      ...(props.Priority !== undefined && { priority: props.Priority }),
      ...(props.ImageIndex !== undefined && { image_index: props.ImageIndex }),
      ...(props.StoredPkgVersion !== undefined && { stored_pkg_version: props.StoredPkgVersion }),
      // A new schedule counts from now: slots before it was set are not "missed".
      ...(schedule !== undefined && { refresh_schedule: schedule, schedule_checked_at: this.clock.now() }),
      ...(props.ForcedDisconnectEnabled !== undefined && {
        forced_disconnect_enabled: props.ForcedDisconnectEnabled ? 1 : 0,
      }),
      ...(props.ForcedDisconnectDelay !== undefined && {
        forced_disconnect_delay: props.ForcedDisconnectDelay,
      }),
      ...(props.ForcedDisconnectNumRetries !== undefined && {
        forced_disconnect_num_retries: props.ForcedDisconnectNumRetries,
      }),
    };
    const ok = await this.repo.update(
      packageId,
      changes,
      Number(current.sedoObjectVersion),
      this.clock.now(),
    );
    if (!ok) {
      const now = await this.repo.get(packageId);
      throw staleError(packageId, current.sedoObjectVersion, now.sedoObjectVersion);
    }
    if (isImage && props.Version !== undefined) await this.images.setVersion(packageId, props.Version);
    return { package: await this.repo.get(packageId), refreshRequested: props.RefreshPkgSourceFlag === true };
  }

  /**
   * Records what a WIM read found, in the caller's transaction: ImageProperty and the SMS_ImageInformation
   * rows change together (and SedoObjectVersion moves). Fails when the package's ImageIndex is gone.
   */
  async recordImageMetadata(packageId: string, wim: WimMetadata, trx: Transaction<Database>): Promise<void> {
    const pkg = await this.repo.get(packageId, trx);
    assertImageIndex(wim, pkg.imageIndex, wim.path);
    await this.repo.update(packageId, { image_property: wim.xml }, undefined, this.clock.now(), trx);
    await this.images.replace(packageId, imageRowsOf(packageId, wim, pkg.version), trx);
  }

  /** The SMS_ImageInformation rows of a package, by index (none for a non-image package). */
  async listImages(packageId: string): Promise<ImageInformation[]> {
    await this.get(packageId);
    return this.images.list(packageId);
  }

  /**
   * SetSourceSite(SourceSite) / Unlock() (the latter with this site's code): moves ownership, i.e. which
   * site may refresh the package. The code must be well formed; the hierarchy does not list other sites yet.
   */
  async setSourceSite(packageId: string, siteCode: string): Promise<Package> {
    if (!/^[A-Z0-9]{3}$/.test(siteCode)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `SourceSite ${JSON.stringify(siteCode)} must be 3 upper-case letters or digits (e.g. PS1)`,
        { field: 'SourceSite' },
      );
    }
    await this.get(packageId);
    await this.repo.update(packageId, { source_site: siteCode }, undefined, this.clock.now());
    return this.repo.get(packageId);
  }

  /** Packages with a RefreshSchedule (for the refresh scheduler). */
  listScheduled(): Promise<Package[]> {
    return this.repo.listScheduled();
  }

  /** Records when the refresh scheduler last looked at the package's schedule. */
  async markScheduleChecked(packageId: string, at: number, trx?: Transaction<Database>): Promise<void> {
    await this.repo.setScheduleCheckedAt(packageId, at, trx);
  }

  /** Marks ActionInProgress (1 update, 2 add, 3 delete, 0 none). */
  async setActionInProgress(packageId: string, action: number, trx?: Transaction<Database>): Promise<void> {
    await this.repo.update(packageId, { action_in_progress: action }, undefined, this.clock.now(), trx);
  }

  /**
   * Records a new version in the caller's transaction: the version row, SourceVersion + 1, StoredPkgVersion,
   * SourceDate, LastRefreshTime and PackageSize change together (invariant 3). Fails with STALE_OBJECT when
   * the package's SourceVersion is no longer `previousVersion`.
   */
  async commitVersion(c: VersionCommit, trx: Transaction<Database>): Promise<PackageVersion> {
    const now = this.clock.now();
    const next = c.previousVersion + 1;
    const version: PackageVersion = {
      packageId: c.packageId,
      sourceVersion: next,
      manifestId: c.manifestId,
      totalBytes: c.totalBytes,
      fileCount: c.fileCount,
      chunkCount: c.chunkCount,
      jobId: c.jobId,
      createdAt: now,
    };
    const pkg = await this.repo.get(c.packageId, trx);
    if (pkg.sourceVersion !== c.previousVersion) {
      throw new SitecastError(
        'STALE_OBJECT',
        `package ${c.packageId} moved to SourceVersion ${pkg.sourceVersion} during the snapshot`,
        {
          field: 'SourceVersion',
        },
      );
    }
    await this.repo.insertVersion(version, trx);
    await this.repo.update(
      c.packageId,
      {
        source_version: next,
        stored_pkg_version: next,
        source_date: now,
        last_refresh_time: now,
        package_size_kb: Math.ceil(c.totalBytes / 1024),
      },
      Number(pkg.sedoObjectVersion),
      now,
      trx,
    );
    return version;
  }

  findVersion(
    packageId: string,
    sourceVersion: number,
    trx?: Transaction<Database>,
  ): Promise<PackageVersion | undefined> {
    return this.repo.findVersion(packageId, sourceVersion, trx);
  }

  findVersionByJob(
    packageId: string,
    jobId: number,
    trx?: Transaction<Database>,
  ): Promise<PackageVersion | undefined> {
    return this.repo.findVersionByJob(packageId, jobId, trx);
  }

  listVersions(packageId: string): Promise<PackageVersion[]> {
    return this.repo.listVersions(packageId);
  }

  allVersions(): Promise<PackageVersion[]> {
    return this.repo.allVersions();
  }

  /** Deletes the package row (its versions and DP targets cascade). */
  delete(packageId: string, trx?: Transaction<Database>): Promise<void> {
    return this.repo.delete(packageId, trx);
  }

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.repo.transaction(work);
  }
}

const packageIdPattern = /^[A-Z0-9]{3}[0-9A-F]{5}$/;

export function assertPackageId(packageId: string): void {
  if (!packageIdPattern.test(packageId)) {
    throw new SitecastError(
      'NOT_FOUND',
      `package ${JSON.stringify(packageId)} does not exist (a PackageID is a site code and 5 hex digits, e.g. PS100039)`,
      {
        field: 'PackageID',
        packageId,
      },
    );
  }
}

function staleError(packageId: string, given: string, current: string): SitecastError {
  return new SitecastError(
    'STALE_OBJECT',
    `package ${packageId} changed since it was read (SedoObjectVersion ${given}, now ${current}); read it again and retry`,
    { field: 'SedoObjectVersion', current },
  );
}

/** At most 15 tokens (reference §1), validated field by field; null when the schedule is cleared. */
function scheduleString(value: string | readonly Record<string, unknown>[] | null): string | null {
  if (value === null || value === '' || (Array.isArray(value) && value.length === 0)) return null;
  const tokens =
    typeof value === 'string'
      ? readScheduleString(value)
      : value.map((t, index) => checkScheduleToken(t, { index }));
  if (tokens.length > MAX_SCHEDULE_TOKENS) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `RefreshSchedule has ${tokens.length} schedule tokens; at most ${MAX_SCHEDULE_TOKENS} are allowed`,
      { field: 'RefreshSchedule' },
    );
  }
  return writeScheduleString(tokens);
}

const MAX_SCHEDULE_TOKENS = 15;
