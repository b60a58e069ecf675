import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, PackageTable, PackageVersionTable } from '../db/index.js';
import { SitecastError } from '../kernel/index.js';
import type { Package, PackageVersion } from './package-types.js';

type Db = Kysely<Database> | Transaction<Database>;

export function toPackage(r: Selectable<PackageTable>): Package {
  return {
    packageId: r.package_id,
    packageType: r.package_type,
    name: r.name,
    version: r.version,
    description: r.description,
    manufacturer: r.manufacturer,
    language: r.language,
    pkgSourcePath: r.pkg_source_path,
    pkgSourceFlag: r.pkg_source_flag,
    pkgFlags: r.pkg_flags,
    priority: r.priority,
    sourceVersion: r.source_version,
    storedPkgVersion: r.stored_pkg_version,
    sourceDate: r.source_date,
    lastRefreshTime: r.last_refresh_time,
    sourceSite: r.source_site,
    actionInProgress: r.action_in_progress,
    sedoObjectVersion: String(r.sedo_object_version),
    imageProperty: r.image_property,
    imageIndex: r.image_index,
    refreshSchedule: r.refresh_schedule,
    scheduleCheckedAt: r.schedule_checked_at === null ? null : Number(r.schedule_checked_at),
    packageSizeKb: r.package_size_kb,
    forcedDisconnectEnabled: r.forced_disconnect_enabled !== 0,
    forcedDisconnectDelay: r.forced_disconnect_delay,
    forcedDisconnectNumRetries: r.forced_disconnect_num_retries,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toVersion(r: Selectable<PackageVersionTable>): PackageVersion {
  return {
    packageId: r.package_id,
    sourceVersion: r.source_version,
    manifestId: r.manifest_id,
    totalBytes: r.total_bytes,
    fileCount: r.file_count,
    chunkCount: r.chunk_count,
    jobId: r.job_id,
    createdAt: r.created_at,
  };
}

export interface PackageFilter {
  readonly packageType?: number;
}

export class PackageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /**
   * Next PackageID for `siteCode`: the site code and 5 hex digits. The counter only moves forward, so an
   * ID is never handed out twice, even after its package is deleted.
   */
  async allocatePackageId(siteCode: string, trx: Db = this.db): Promise<string> {
    const row = await trx
      .insertInto('counter')
      .values({ name: `package_id:${siteCode}`, value: 1 })
      .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb('counter.value', '+', 1) })))
      .returning('value')
      .executeTakeFirstOrThrow();
    if (row.value > 0xfffff) {
      throw new SitecastError('FAILED', `site ${siteCode} has used all 1,048,575 PackageIDs`, {
        field: 'PackageID',
      });
    }
    return siteCode + row.value.toString(16).toUpperCase().padStart(5, '0');
  }

  async insert(row: Selectable<PackageTable>, trx: Db = this.db): Promise<void> {
    await trx.insertInto('package').values(row).execute();
  }

  async find(packageId: string, trx: Db = this.db): Promise<Package | undefined> {
    const row = await trx
      .selectFrom('package')
      .selectAll()
      .where('package_id', '=', packageId)
      .executeTakeFirst();
    return row ? toPackage(row) : undefined;
  }

  async get(packageId: string, trx: Db = this.db): Promise<Package> {
    const p = await this.find(packageId, trx);
    if (!p)
      throw new SitecastError('NOT_FOUND', `package ${packageId} does not exist`, {
        field: 'PackageID',
        packageId,
      });
    return p;
  }

  async list(filter: PackageFilter = {}): Promise<Package[]> {
    let q = this.db.selectFrom('package').selectAll().orderBy('package_id');
    if (filter.packageType !== undefined) q = q.where('package_type', '=', filter.packageType);
    return (await q.execute()).map(toPackage);
  }

  /** Packages with a RefreshSchedule. */
  async listScheduled(): Promise<Package[]> {
    const rows = await this.db
      .selectFrom('package')
      .selectAll()
      .where('refresh_schedule', 'is not', null)
      .orderBy('package_id')
      .execute();
    return rows.map(toPackage);
  }

  /** The scheduler's bookkeeping: not an admin change, so SedoObjectVersion stays. */
  async setScheduleCheckedAt(packageId: string, at: number, trx: Db = this.db): Promise<void> {
    await trx
      .updateTable('package')
      .set({ schedule_checked_at: at })
      .where('package_id', '=', packageId)
      .execute();
  }

  /**
   * Applies `changes` when the row still has `expectedSedo` (optimistic concurrency); bumps the version.
   * Returns false when the row changed meanwhile.
   */
  async update(
    packageId: string,
    changes: Partial<Omit<Selectable<PackageTable>, 'package_id' | 'sedo_object_version'>>,
    expectedSedo: number | undefined,
    now: number,
    trx: Db = this.db,
  ): Promise<boolean> {
    let q = trx
      .updateTable('package')
      .set((eb) => ({ ...changes, updated_at: now, sedo_object_version: eb('sedo_object_version', '+', 1) }))
      .where('package_id', '=', packageId);
    if (expectedSedo !== undefined) q = q.where('sedo_object_version', '=', expectedSedo);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(packageId: string, trx: Db = this.db): Promise<void> {
    await trx.deleteFrom('package').where('package_id', '=', packageId).execute();
  }

  async insertVersion(v: PackageVersion, trx: Db = this.db): Promise<void> {
    await trx
      .insertInto('package_version')
      .values({
        package_id: v.packageId,
        source_version: v.sourceVersion,
        manifest_id: v.manifestId,
        total_bytes: v.totalBytes,
        file_count: v.fileCount,
        chunk_count: v.chunkCount,
        job_id: v.jobId,
        created_at: v.createdAt,
      })
      .execute();
  }

  findVersion(
    packageId: string,
    sourceVersion: number,
    trx: Db = this.db,
  ): Promise<PackageVersion | undefined> {
    return this.findVersionWhere(packageId, 'source_version', sourceVersion, trx);
  }

  findVersionByJob(packageId: string, jobId: number, trx: Db = this.db): Promise<PackageVersion | undefined> {
    return this.findVersionWhere(packageId, 'job_id', jobId, trx);
  }

  private async findVersionWhere(
    packageId: string,
    column: 'source_version' | 'job_id',
    value: number,
    trx: Db,
  ): Promise<PackageVersion | undefined> {
    const row = await trx
      .selectFrom('package_version')
      .selectAll()
      .where('package_id', '=', packageId)
      .where(column, '=', value)
      .executeTakeFirst();
    return row ? toVersion(row) : undefined;
  }

  async listVersions(packageId: string): Promise<PackageVersion[]> {
    const rows = await this.db
      .selectFrom('package_version')
      .selectAll()
      .where('package_id', '=', packageId)
      .orderBy('source_version')
      .execute();
    return rows.map(toVersion);
  }

  /** Every version row (for GC: the caller decides which are live). */
  async allVersions(): Promise<PackageVersion[]> {
    return (await this.db.selectFrom('package_version').selectAll().execute()).map(toVersion);
  }

  async deleteVersionsBelow(packageId: string, keepFrom: number, trx: Db = this.db): Promise<void> {
    await trx
      .deleteFrom('package_version')
      .where('package_id', '=', packageId)
      .where('source_version', '<', keepFrom)
      .execute();
  }
}
