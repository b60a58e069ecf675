import { sql, type Kysely, type RawBuilder } from 'kysely';
import { isSqlite } from '../dialect-helpers.js';

/**
 * Indexes for the AdminService's OData queries at thousands of DPs. The API compares strings case-folded
 * (`lower(x)` on SQLite, `lower(x collate "C")` on PostgreSQL: src/api/odata/sql-string-rules.ts), so an
 * index only helps when it is on that same expression:
 * - package_dp by folded PackageID, then PackageID and DP id: `$filter=PackageID eq '…'` finds the
 *   package's rows already in the package × DP classes' default order (PackageID, DP id), so `$top=50`
 *   stops after 50 rows instead of sorting thousands (neither planner orders by an expression from an
 *   index, hence the plain columns after it);
 * - package_dp by DP id: joins from a DP to its rows (`$filter` on a DP's NAL path, a DP's TransferRate sum)
 *   otherwise scan the whole table once per DP, the primary key leading with the package;
 * - on PostgreSQL, distribution_point by folded NAL path, name and server name (0004's lower() indexes are
 *   without the "C" collation, so its planner cannot use them for the API's comparisons; SQLite's can).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  const fold = folder(db);
  await db.schema
    .createIndex('package_dp_fold_package')
    .on('package_dp')
    .expression(sql`${fold('package_id')}, package_id, dp_id`)
    .execute();
  await db.schema.createIndex('package_dp_dp').on('package_dp').column('dp_id').execute();
  if (isSqlite(db)) return;
  for (const column of pgFoldedDpColumns) {
    await db.schema
      .createIndex(`distribution_point_fold_${column}`)
      .on('distribution_point')
      .expression(fold(column))
      .execute();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  if (!isSqlite(db)) {
    for (const column of pgFoldedDpColumns)
      await db.schema.dropIndex(`distribution_point_fold_${column}`).execute();
  }
  await db.schema.dropIndex('package_dp_dp').execute();
  await db.schema.dropIndex('package_dp_fold_package').execute();
}

const pgFoldedDpColumns = ['nal_path', 'name', 'server_name'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
function folder(db: Kysely<any>): (column: string) => RawBuilder<unknown> {
  return isSqlite(db)
    ? (column) => sql`lower(${sql.ref(column)})`
    : (column) => sql`lower(${sql.ref(column)} collate "C")`;
}
