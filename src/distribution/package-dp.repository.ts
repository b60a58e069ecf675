import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, PackageDpTable } from '../db/index.js';

type Db = Kysely<Database> | Transaction<Database>;

/** One package targeted to one DP, with its distribution state. */
export interface PackageDp {
  readonly packageId: string;
  readonly dpId: number;
  readonly state: number;
  readonly status: number;
  readonly targetVersion: number;
  readonly installedVersion: number;
  readonly bytesTotal: number;
  readonly bytesDone: number;
  readonly bytesSent: number;
  readonly rate: number;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly lastCopied: number | null;
  readonly updatedAt: number;
  /** Why the transfer waits (closed window, maintenance mode, rate limit); null when it does not. */
  readonly waitReason: string | null;
  readonly resumeAt: number | null;
}

function toPackageDp(r: Selectable<PackageDpTable>): PackageDp {
  return {
    packageId: r.package_id,
    dpId: r.dp_id,
    state: r.state,
    status: r.status,
    targetVersion: r.target_version,
    installedVersion: r.installed_version,
    bytesTotal: r.bytes_total,
    bytesDone: r.bytes_done,
    bytesSent: r.bytes_sent,
    rate: r.rate,
    attempts: r.attempts,
    lastError: r.last_error,
    lastCopied: r.last_copied,
    updatedAt: r.updated_at,
    waitReason: r.wait_reason,
    resumeAt: r.resume_at === null ? null : Number(r.resume_at),
  };
}

export type PackageDpChanges = Partial<Omit<PackageDp, 'packageId' | 'dpId' | 'updatedAt'>>;

function toColumns(c: PackageDpChanges): Partial<PackageDpTable> {
  const out: Partial<PackageDpTable> = {};
  if (c.state !== undefined) out.state = c.state;
  if (c.status !== undefined) out.status = c.status;
  if (c.targetVersion !== undefined) out.target_version = c.targetVersion;
  if (c.installedVersion !== undefined) out.installed_version = c.installedVersion;
  if (c.bytesTotal !== undefined) out.bytes_total = c.bytesTotal;
  if (c.bytesDone !== undefined) out.bytes_done = c.bytesDone;
  if (c.bytesSent !== undefined) out.bytes_sent = c.bytesSent;
  if (c.rate !== undefined) out.rate = Math.round(c.rate);
  if (c.attempts !== undefined) out.attempts = c.attempts;
  if (c.lastError !== undefined) out.last_error = c.lastError;
  if (c.lastCopied !== undefined) out.last_copied = c.lastCopied;
  if (c.waitReason !== undefined) out.wait_reason = c.waitReason;
  if (c.resumeAt !== undefined) out.resume_at = c.resumeAt;
  return out;
}

export class PackageDpRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(packageId: string, dpId: number, trx: Db = this.db): Promise<PackageDp | undefined> {
    const row = await trx
      .selectFrom('package_dp')
      .selectAll()
      .where('package_id', '=', packageId)
      .where('dp_id', '=', dpId)
      .executeTakeFirst();
    return row ? toPackageDp(row) : undefined;
  }

  async listForPackage(packageId: string, trx: Db = this.db): Promise<PackageDp[]> {
    const rows = await trx
      .selectFrom('package_dp')
      .selectAll()
      .where('package_id', '=', packageId)
      .orderBy('dp_id')
      .execute();
    return rows.map(toPackageDp);
  }

  async listForDp(dpId: number): Promise<PackageDp[]> {
    const rows = await this.db
      .selectFrom('package_dp')
      .selectAll()
      .where('dp_id', '=', dpId)
      .orderBy('package_id')
      .execute();
    return rows.map(toPackageDp);
  }

  async listAll(): Promise<PackageDp[]> {
    return (await this.db.selectFrom('package_dp').selectAll().execute()).map(toPackageDp);
  }

  /** Creates the target row, or returns false when it already exists. */
  async insertIfAbsent(
    row: Omit<PackageDp, 'updatedAt' | 'waitReason' | 'resumeAt'>,
    now: number,
    trx: Db = this.db,
  ): Promise<boolean> {
    const r = await trx
      .insertInto('package_dp')
      .values({
        package_id: row.packageId,
        dp_id: row.dpId,
        state: row.state,
        status: row.status,
        target_version: row.targetVersion,
        installed_version: row.installedVersion,
        bytes_total: row.bytesTotal,
        bytes_done: row.bytesDone,
        bytes_sent: row.bytesSent,
        rate: row.rate,
        attempts: row.attempts,
        last_error: row.lastError,
        last_copied: row.lastCopied,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['package_id', 'dp_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async update(
    packageId: string,
    dpId: number,
    changes: PackageDpChanges,
    now: number,
    trx: Db = this.db,
  ): Promise<void> {
    await trx
      .updateTable('package_dp')
      .set({ ...toColumns(changes), updated_at: now })
      .where('package_id', '=', packageId)
      .where('dp_id', '=', dpId)
      .execute();
  }

  async delete(packageId: string, dpId: number, trx: Db = this.db): Promise<void> {
    await trx
      .deleteFrom('package_dp')
      .where('package_id', '=', packageId)
      .where('dp_id', '=', dpId)
      .execute();
  }
}
