/**
 * Records as JSON text built by the database, for listings of classes whose toRecord is the generic
 * recordFromRow (class-model.ts): SQLite's `json_object('PackageID', v."PackageID", …)` or PostgreSQL's
 * `json_build_object(…)` per row, with the same conversions — epoch ms → ISO 8601 with milliseconds,
 * 0/1 → false/true, numbers as numbers — joined into one value in the listing's order (class-store.ts): no
 * JS object per row, no JSON.stringify. At thousands of rows (a package's status on 5,000 DPs) that was
 * most of the time of a listing.
 *
 * Only for property types it converts exactly like recordFromRow (strings, numbers, booleans, times of
 * years 1970-9999 — every stored time is); any other type keeps the class on the JS path.
 */
import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';
import type { DialectCapabilities } from '../db/index.js';
import type { ApiClass, ApiPropertyType } from './class-model.js';

type Conversions = Readonly<
  Partial<Record<ApiPropertyType, (ref: RawBuilder<unknown>) => RawBuilder<unknown>>>
>;

/** 253402300799999 is 9999-12-31T23:59:59.999Z, beyond which toISOString writes a six-digit year. */
const lastFourDigitYearMs = 253402300799999;

const inSqlite: Conversions = {
  string: (v) => v,
  // recordFromRow: Number(v). `+ 0` turns numeric text into a number and keeps integers and reals.
  int32: (v) => sql`(${v} + 0)`,
  uint32: (v) => sql`(${v} + 0)`,
  int64: (v) => sql`(${v} + 0)`,
  float: (v) => sql`(${v} + 0)`,
  bool: (v) => sql`json(case when ${v} is null then null when ${v} then 'true' else 'false' end)`,
  // new Date(ms).toISOString(): datetime() for the whole seconds (cheaper than strftime, which cost more than
  // the rest of a status row), 'T' for its space, then the milliseconds.
  datetime: (v) => {
    const ms = sql`cast(${v} as integer)`;
    return sql`case when ${v} is null then null when ${v} between 0 and ${sql.lit(lastFourDigitYearMs)} then replace(datetime(${ms} / 1000, 'unixepoch'), ' ', 'T') || '.' || substr(1000 + ${ms} % 1000, 2) || 'Z' end`;
  },
};

const inPostgres: Conversions = {
  string: (v) => v,
  // recordFromRow: Number(v) (the driver gives bigint as text). float8 holds every such value and json
  // writes it as the shortest text that reads back the same number.
  int32: (v) => sql`(${v})::float8`,
  uint32: (v) => sql`(${v})::float8`,
  int64: (v) => sql`(${v})::float8`,
  float: (v) => sql`(${v})::float8`,
  bool: (v) => sql`((${v})::int <> 0)`,
  // Whole seconds through to_timestamp (exact for integral seconds), milliseconds by integer arithmetic:
  // an interval multiplied by the milliseconds goes through a double and can land a microsecond short.
  datetime: (v) => {
    const ms = sql`(${v})::bigint`;
    return sql`case when ${ms} between 0 and ${sql.lit(lastFourDigitYearMs)} then to_char(to_timestamp(${ms} / 1000) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '.' || lpad((${ms} % 1000)::text, 3, '0') || 'Z' end`;
  },
};

/** PostgreSQL functions take at most 100 arguments: 50 properties per json_build_object. */
const postgresMaxProperties = 50;

/**
 * The record of a row of the view `v` with the properties `names`, as JSON text `as record` (class-store.ts
 * joins the rows' records into one value, so the driver hands over one string or blob, not a JS value per
 * row). Undefined when a type has no SQL form.
 */
export function sqlRecordSelect(
  cls: ApiClass,
  names: readonly string[],
  dialect: DialectCapabilities['name'],
): AliasedRawBuilder<string, 'record'> | undefined {
  if (!cls.plainRecords) return undefined;
  if (dialect === 'postgres' && names.length > postgresMaxProperties) return undefined;
  const conversions = dialect === 'sqlite' ? inSqlite : inPostgres;
  const parts: RawBuilder<unknown>[] = [];
  for (const name of names) {
    const p = cls.properties[name];
    const convert = p && conversions[p.type];
    if (!convert) return undefined;
    parts.push(sql.lit(name), convert(sql.ref(`v.${name}`)));
  }
  const record =
    dialect === 'sqlite'
      ? sql<string>`json_object(${sql.join(parts)})`
      : sql<string>`json_build_object(${sql.join(parts)})::text`;
  return record.as('record');
}
