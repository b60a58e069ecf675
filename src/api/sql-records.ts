/**
 * Records as JSON text built by SQLite, for listings of classes whose toRecord is the generic
 * recordFromRow (class-model.ts): `json_object('PackageID', v."PackageID", …)` per row, with the same
 * conversions — epoch ms → ISO 8601 with milliseconds, 0/1 → false/true, numbers as numbers — joined into
 * one blob in the listing's order (class-store.ts): no JS object per row, no JSON.stringify. At thousands of rows (a package's status
 * on 5,000 DPs) that was most of the time of a listing.
 *
 * Only for property types it converts exactly like recordFromRow (strings, numbers, booleans, times of
 * years 0000-9999 — every stored time is); any other type keeps the class on the JS path.
 */
import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';
import type { ApiClass, ApiPropertyType } from './class-model.js';

const inSql: Readonly<Partial<Record<ApiPropertyType, (ref: RawBuilder<unknown>) => RawBuilder<unknown>>>> = {
  string: (v) => v,
  // recordFromRow: Number(v). `+ 0` turns numeric text into a number and keeps integers and reals.
  int32: (v) => sql`(${v} + 0)`,
  uint32: (v) => sql`(${v} + 0)`,
  int64: (v) => sql`(${v} + 0)`,
  float: (v) => sql`(${v} + 0)`,
  bool: (v) => sql`json(case when ${v} is null then null when ${v} then 'true' else 'false' end)`,
  // new Date(ms).toISOString(): datetime() for the whole seconds (cheaper than strftime, which cost more than
  // the rest of a status row), 'T' for its space, then the milliseconds. 253402300799999 is
  // 9999-12-31T23:59:59.999Z, beyond which toISOString writes a six-digit year.
  datetime: (v) => {
    const ms = sql`cast(${v} as integer)`;
    return sql`case when ${v} is null then null when ${v} between 0 and 253402300799999 then replace(datetime(${ms} / 1000, 'unixepoch'), ' ', 'T') || '.' || substr(1000 + ${ms} % 1000, 2) || 'Z' end`;
  },
};

/**
 * `json_object(…) as record` over `names` of the view `v` (class-store.ts joins the rows' records into one
 * blob, so the driver hands over UTF-8 bytes, not a JS value per row). Undefined when a type has no SQL form.
 */
export function sqlRecordSelect(
  cls: ApiClass,
  names: readonly string[],
): AliasedRawBuilder<string, 'record'> | undefined {
  if (!cls.plainRecords) return undefined;
  const parts: RawBuilder<unknown>[] = [];
  for (const name of names) {
    const p = cls.properties[name];
    const convert = p && inSql[p.type];
    if (!convert) return undefined;
    parts.push(sql.lit(name), convert(sql.ref(`v.${name}`)));
  }
  return sql<string>`json_object(${sql.join(parts)})`.as('record');
}
