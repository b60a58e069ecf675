/**
 * Records as JSON text built by SQLite, for listings of classes whose toRecord is the generic
 * recordFromRow (class-model.ts): `json_object('PackageID', v."PackageID", …)` per row, with the same
 * conversions — epoch ms → ISO 8601 with milliseconds, 0/1 → false/true, numbers as numbers. The route then
 * joins the rows' texts: no JS object per row, no JSON.stringify. At thousands of rows (a package's status
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
  // new Date(ms).toISOString(): whole seconds by strftime, then the milliseconds; 253402300799999 is
  // 9999-12-31T23:59:59.999Z, beyond which toISOString writes a six-digit year.
  datetime: (v) =>
    sql`case when ${v} is null then null when ${v} between 0 and 253402300799999 then strftime('%Y-%m-%dT%H:%M:%S', cast(${v} as integer) / 1000, 'unixepoch') || printf('.%03dZ', cast(${v} as integer) % 1000) end`,
};

/**
 * `json_object(…) as record` over `names` of the view `v`, as a blob: the driver hands over the UTF-8 bytes
 * instead of making a JS string that would have to be encoded again. Undefined when a type has no SQL form.
 */
export function sqlRecordSelect(
  cls: ApiClass,
  names: readonly string[],
): AliasedRawBuilder<Uint8Array, 'record'> | undefined {
  if (!cls.plainRecords) return undefined;
  const parts: RawBuilder<unknown>[] = [];
  for (const name of names) {
    const p = cls.properties[name];
    const convert = p && inSql[p.type];
    if (!convert) return undefined;
    parts.push(sql.lit(name), convert(sql.ref(`v.${name}`)));
  }
  return sql<Uint8Array>`cast(json_object(${sql.join(parts)}) as blob)`.as('record');
}
