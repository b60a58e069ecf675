import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { isSqlite, type Database, type PackageDpTable } from '../db/index.js';

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

/** A package × DP row as status shows it, with the DP's names (null when the DP row is gone). */
export interface PackageDpStatusRow extends Omit<PackageDp, 'status'> {
  readonly nalPath: string | null;
  readonly dpName: string | null;
  readonly siteCode: string | null;
}

/** The columns of PackageDpStatusRow, in the order of the JSON arrays statusRows reads on SQLite. */
const statusColumns = [
  'pd.package_id',
  'pd.dp_id',
  'pd.state',
  'pd.target_version',
  'pd.installed_version',
  'pd.bytes_total',
  'pd.bytes_done',
  'pd.bytes_sent',
  'pd.rate',
  'pd.attempts',
  'pd.last_error',
  'pd.last_copied',
  'pd.updated_at',
  'pd.wait_reason',
  'pd.resume_at',
  'd.nal_path',
  'd.name',
  'd.site_code',
] as const;

type StatusTuple = [
  string,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  string | null,
  number | null,
  number,
  string | null,
  number | null,
  string | null,
  string | null,
  string | null,
];

function toStatusRow(t: StatusTuple): PackageDpStatusRow {
  return {
    packageId: t[0],
    dpId: t[1],
    state: t[2],
    targetVersion: t[3],
    installedVersion: t[4],
    bytesTotal: t[5],
    bytesDone: t[6],
    bytesSent: t[7],
    rate: t[8],
    attempts: t[9],
    lastError: t[10],
    lastCopied: t[11],
    updatedAt: t[12],
    waitReason: t[13],
    resumeAt: t[14],
    nalPath: t[15],
    dpName: t[16],
    siteCode: t[17],
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

  /**
   * Every DP row of a package with the DP's names, in DP id order, for status: one query with only the
   * columns status shows. On SQLite the database builds one JSON array of the rows: better-sqlite3 makes a
   * JS object per row at a cost per column, which at thousands of DPs was most of the time, while one
   * string parses fast. PostgreSQL builds JSON slower than it sends rows, so it sends rows.
   */
  async statusRows(packageId: string): Promise<PackageDpStatusRow[]> {
    const from = this.db
      .selectFrom('package_dp as pd')
      .leftJoin('distribution_point as d', 'd.dp_id', 'pd.dp_id')
      .where('pd.package_id', '=', packageId);
    if (isSqlite(this.db as unknown as Kysely<unknown>)) {
      const columns = sql.join(statusColumns.map((c) => sql.ref(c)));
      const json = sql<string>`json_group_array(json_array(${columns}) order by pd.dp_id)`;
      const row = await from.select(json.as('rows')).executeTakeFirstOrThrow();
      return (JSON.parse(row.rows) as StatusTuple[]).map(toStatusRow);
    }
    const rows = await from
      .select([
        'pd.package_id as packageId',
        'pd.dp_id as dpId',
        'pd.state as state',
        'pd.target_version as targetVersion',
        'pd.installed_version as installedVersion',
        'pd.bytes_total as bytesTotal',
        'pd.bytes_done as bytesDone',
        'pd.bytes_sent as bytesSent',
        'pd.rate as rate',
        'pd.attempts as attempts',
        'pd.last_error as lastError',
        'pd.last_copied as lastCopied',
        'pd.updated_at as updatedAt',
        'pd.wait_reason as waitReason',
        'pd.resume_at as resumeAt',
        'd.nal_path as nalPath',
        'd.name as dpName',
        'd.site_code as siteCode',
      ])
      .orderBy('pd.dp_id')
      .execute();
    return rows;
  }

  /** How many of a package's DP rows are in each state. */
  async stateCounts(packageId: string): Promise<Map<number, number>> {
    const rows = await this.db
      .selectFrom('package_dp')
      .select(['state', sql<number | string>`count(*)`.as('n')])
      .where('package_id', '=', packageId)
      .groupBy('state')
      .execute();
    return new Map(rows.map((r) => [Number(r.state), Number(r.n)]));
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
