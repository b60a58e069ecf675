/**
 * Classes computed from joins or aggregates select their rows as a sub-select aliased `v` whose columns are
 * named after the properties, so `$filter`/`$orderby` on any property (a count, a CASE) still run in SQL.
 */
import type { SelectQueryBuilder } from 'kysely';
import type { ApiSite } from '../api-site.js';
import type { ApiProperty, BaseQuery } from '../class-model.js';

/** Properties whose column is `v.<Name>`. */
export function viewProperties(
  spec: Readonly<Record<string, Omit<ApiProperty, 'column'>>>,
): Readonly<Record<string, ApiProperty>> {
  return Object.fromEntries(Object.entries(spec).map(([name, p]) => [name, { ...p, column: `v.${name}` }]));
}

/** `select * from (<inner>) as v`. */
export function viewOf<DB, TB extends keyof DB, O>(
  site: ApiSite,
  inner: SelectQueryBuilder<DB, TB, O>,
): BaseQuery {
  return site.database.db.selectFrom(inner.as('v')).selectAll();
}

/**
 * Classes with one row per package × DP list in package_dp's key order (PackageID, DP id) when no
 * `$orderby` is given: the primary key serves it, and with `PackageID eq '…'` the folded-PackageID index
 * of migration 0012 does, so a package's first 50 rows are its first 50 index entries. The DP id is a
 * hidden column of the view (not a property: neither shown nor filterable).
 */
export const packageDpOrderColumn = 'pd.dp_id as _dp_id';
export const packageDpOrder: readonly string[] = ['v.PackageID', 'v._dp_id'];
