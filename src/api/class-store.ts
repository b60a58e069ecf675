/**
 * Reading classes for the routes: collections through the OData layer (SQL), single instances by key,
 * keys from the URL checked against the class, and ETags.
 */
import { createHash } from 'node:crypto';
import { sql, type AliasedRawBuilder, type CompiledQuery, type RawBuilder } from 'kysely';
import { SitecastError } from '../kernel/index.js';
import type { ApiSite } from './api-site.js';
import { entityOf, type ApiClass, type ApiRecord, type BaseQuery, type KeyValues } from './class-model.js';
import {
  applyODataQuery,
  parseQueryOptions,
  projectRecord,
  selectedProperties,
  type ODataEntity,
  type ODataQuery,
  type RawQuery,
} from './odata/index.js';
import type { KeyLiteral } from './resource-path.js';
import { sqlRecordSelect } from './sql-records.js';

export interface CollectionResult {
  readonly value: readonly ApiRecord[];
  readonly count?: number;
}

const bases = new WeakMap<ApiSite, WeakMap<ApiClass, Map<boolean, BaseQuery>>>();

/**
 * The class's base select, built once per site: Kysely builders are immutable, and building one (dozens of
 * selections, each a copy) cost more per request than the SQLite lookup it feeds.
 */
function baseOf(site: ApiSite, cls: ApiClass, lazy: boolean): BaseQuery {
  let perSite = bases.get(site);
  if (!perSite) bases.set(site, (perSite = new WeakMap()));
  let perClass = perSite.get(cls);
  if (!perClass) perSite.set(cls, (perClass = new Map<boolean, BaseQuery>()));
  let q = perClass.get(lazy);
  if (!q) perClass.set(lazy, (q = cls.base!(site, { lazy })));
  return q;
}

/** GET on a class: `$filter/$select/$orderby/$top/$skip/$count` compiled to SQL. */
export async function listInstances(site: ApiSite, cls: ApiClass, raw: RawQuery): Promise<CollectionResult> {
  const p = preparedList(site, cls, raw);
  const { query, lazy, packed } = p;
  if (!p.rows) return { value: [], ...(query.count && { count: 0 }) };
  const db = site.database.db;
  const { rows } = await db.executeQuery<Record<string, unknown>>(p.rows);
  const total = p.count && (await db.executeQuery<{ count: number | string | bigint }>(p.count)).rows[0];
  if (packed && !query.select && packed.complete) {
    // Every property, in class order, is already in each record: nothing to project.
    return {
      value: rows.map((row) => cls.toRecord!(packed.unpack(row), { lazy, site })),
      ...(total && { count: Number(total.count) }),
    };
  }
  const names = selectedProperties(query, entityOf(cls));
  const toRecord = (row: Record<string, unknown>): ApiRecord =>
    projectRecord(cls.toRecord!(packed ? packed.unpack(row) : row, { lazy, site }), names);
  const value = rows.map(toRecord);
  return { value, ...(total && { count: Number(total.count) }) };
}

export interface CollectionJson {
  /** The `value` array as JSON (UTF-8). */
  readonly value: Buffer;
  readonly count?: number;
}

/**
 * Like listInstances, with the records as JSON bytes: written by the database when the class allows it
 * (sql-records.ts: all the rows' records joined by SQLite into one blob of UTF-8, in the listing's
 * order), else serialized here.
 */
export async function listInstancesJson(
  site: ApiSite,
  cls: ApiClass,
  raw: RawQuery,
): Promise<CollectionJson> {
  const p = preparedList(site, cls, raw);
  if (!p.records) {
    const { value, count } = await listInstances(site, cls, raw);
    return { value: Buffer.from(JSON.stringify(value)), ...(count !== undefined && { count }) };
  }
  const db = site.database.db;
  const { rows } = await db.executeQuery<{ records: Uint8Array | string | null }>(p.records);
  const total = p.count && (await db.executeQuery<{ count: number | string | bigint }>(p.count)).rows[0];
  // No match: the aggregate gives null. SQLite hands over a blob, PostgreSQL text (encoded once, brackets and all).
  const records = rows[0]?.records ?? '';
  const value = typeof records === 'string' ? Buffer.from(`[${records}]`, 'utf8') : bracketed(records);
  return { value, ...(total && { count: Number(total.count) }) };
}

/** `[` + bytes + `]` in one new buffer. */
function bracketed(records: Uint8Array): Buffer {
  const value = Buffer.allocUnsafe(records.length + 2);
  value[0] = 0x5b; // [
  value.set(records, 1);
  value[records.length + 1] = 0x5d; // ]
  return value;
}

/** A listing's query options, parsed and compiled to SQL. */
interface PreparedList {
  readonly query: ODataQuery;
  readonly lazy: boolean;
  readonly packed: PackedColumns | undefined;
  /** Undefined for a class without rows. */
  readonly rows?: CompiledQuery<Record<string, unknown>>;
  /** Every row's record as JSON, comma-joined in one value (sql-records.ts), when the class allows. */
  readonly records?: CompiledQuery<{ records: Uint8Array | string | null }>;
  /** With `$count=true`. */
  readonly count?: CompiledQuery<{ count: number | string | bigint }>;
}

/** Distinct listings kept compiled per site (class and query string; values are in the string). */
const preparedCapacity = 500;
const preparedLists = new WeakMap<ApiSite, Map<string, PreparedList>>();

/**
 * The listing's SQL, from a per-site cache: parsing `$filter` and building and compiling the class's
 * select (dozens of columns, a join, CASE expressions) cost more per request than running it, and clients
 * (dashboards, scripts polling status) repeat the same queries. Both steps depend only on the class, the
 * query options and the site's dialect, so a cached result is the same one.
 */
function preparedList(site: ApiSite, cls: ApiClass, raw: RawQuery): PreparedList {
  let perSite = preparedLists.get(site);
  if (!perSite) preparedLists.set(site, (perSite = new Map<string, PreparedList>()));
  const key = `${cls.name} ${raw instanceof URLSearchParams ? raw.toString() : JSON.stringify(raw)}`;
  let p = perSite.get(key);
  if (p) {
    // Least recently used first: move this one to the end.
    perSite.delete(key);
  } else {
    p = prepareList(site, cls, raw);
    if (perSite.size >= preparedCapacity) perSite.delete(perSite.keys().next().value!);
  }
  perSite.set(key, p);
  return p;
}

function prepareList(site: ApiSite, cls: ApiClass, raw: RawQuery): PreparedList {
  const entity = entityOf(cls);
  const query = parseQueryOptions(raw, entity);
  const lazy = (query.select ?? []).some((n) => cls.properties[n]?.lazy === true);
  if (!cls.base || !cls.toRecord) return { query, lazy, packed: undefined };
  const dialect = site.database.capabilities.name;
  // Not under an explicit $orderby: SQLite would build the array for every match before sorting them.
  const packed = dialect === 'sqlite' && query.orderBy.length === 0 ? packedColumns(cls) : undefined;
  const base = baseOf(site, cls, lazy);
  const { rows, count } = applyODataQuery(
    packed ? base.clearSelect().select(packed.select) : base,
    query,
    entity,
    {
      dialect,
    },
  );
  // Under an explicit $orderby the database would build every match's text before sorting them.
  const recordSelect =
    query.orderBy.length === 0 && cls.defaultOrder
      ? sqlRecordSelect(cls, selectedProperties(query, entity), dialect)
      : undefined;
  const records = recordSelect && joinedRecords(site, base, recordSelect, cls.defaultOrder!, query, entity);
  return {
    query,
    lazy,
    packed,
    rows: rows.compile(),
    ...(records && { records }),
    ...(query.count && { count: count.compile() }),
  };
}

/**
 * `select group_concat(record, ',' order by …)` (PostgreSQL: `string_agg`) over the listing (filter,
 * default order, $top/$skip) with each row's record written by the database: one value for the whole answer
 * instead of a JS value per row. The aggregate orders by the listing's own default-order columns: its input
 * order is not guaranteed otherwise.
 */
function joinedRecords(
  site: ApiSite,
  base: BaseQuery,
  record: AliasedRawBuilder<string, 'record'>,
  order: readonly string[],
  query: ODataQuery,
  entity: ODataEntity,
): CompiledQuery<{ records: Uint8Array | string | null }> {
  const dialect = site.database.capabilities.name;
  const keys = order.map((column, i) => sql.ref(column).as(`_o${i}`));
  const listing = applyODataQuery(base.clearSelect().select([record, ...keys]), query, entity, {
    dialect,
  }).rows;
  const by = sql.join(order.map((_, i) => sql.ref(`r._o${i}`)));
  const joined: RawBuilder<Uint8Array | string | null> =
    dialect === 'sqlite'
      ? sql`cast(group_concat(r.record, ',' order by ${by}) as blob)`
      : sql`string_agg(r.record, ',' order by ${by})`;
  return site.database.db.selectFrom(listing.as('r')).select(joined.as('records')).compile();
}

interface PackedColumns {
  /** `json_array(v."A", v."B", …) as packed`: one value per row instead of one per column. */
  readonly select: AliasedRawBuilder<string, 'packed'>;
  /** The packed value → the row `select *` would have given (the properties). */
  unpack(row: Record<string, unknown>): Record<string, unknown>;
  /** No property is lazy: a listing without `$select` shows every property the row has. */
  readonly complete: boolean;
}

const packing = new WeakMap<ApiClass, PackedColumns | null>();

/**
 * For SQLite and a class with packedRows: the row as one JSON array built by the database.
 * better-sqlite3 makes each row a JS object at a cost per column, which dominated listing thousands of
 * rows; parsing one short string per row costs about half as much. Undefined for other classes.
 */
function packedColumns(cls: ApiClass): PackedColumns | undefined {
  let p = packing.get(cls);
  if (p === undefined) {
    const names = Object.keys(cls.properties);
    p = cls.packedRows
      ? {
          complete: names.every((n) => !cls.properties[n]!.lazy),
          select: sql<string>`json_array(${sql.join(names.map((n) => sql.ref(`v.${n}`)))})`.as('packed'),
          unpack(row) {
            const values = JSON.parse(row.packed as string) as unknown[];
            const out: Record<string, unknown> = {};
            for (let i = 0; i < names.length; i++) out[names[i]!] = values[i];
            return out;
          },
        }
      : null;
    packing.set(cls, p);
  }
  return p ?? undefined;
}

/** One instance with its lazy properties, or undefined. */
export async function findInstance(
  site: ApiSite,
  cls: ApiClass,
  key: KeyValues,
): Promise<ApiRecord | undefined> {
  if (!cls.base || !cls.toRecord) return undefined;
  const finder = finderOf(site, cls);
  const parameters = [...finder.query.parameters];
  finder.keyAt.forEach((index, i) => (parameters[index] = key[cls.key[i]!]));
  const { rows } = await site.database.db.executeQuery<Record<string, unknown>>({
    ...finder.query,
    parameters,
  });
  const row = rows[0];
  return row ? cls.toRecord(row, { lazy: true, site }) : undefined;
}

interface Finder {
  /** The base select (lazy properties too) where every key property equals a parameter. */
  readonly query: CompiledQuery<Record<string, unknown>>;
  /** Where each key property's value goes among the parameters, in `cls.key` order. */
  readonly keyAt: readonly number[];
}

const finders = new WeakMap<ApiSite, WeakMap<ApiClass, Finder>>();

/**
 * The single-instance query compiled once per site and class: building and compiling it cost more per GET
 * than the SQLite lookup. It is compiled with placeholder key values, found again among the parameters.
 */
function finderOf(site: ApiSite, cls: ApiClass): Finder {
  let perSite = finders.get(site);
  if (!perSite) finders.set(site, (perSite = new WeakMap()));
  let finder = perSite.get(cls);
  if (!finder) {
    const placeholders = cls.key.map((name, i) => `\u0000key ${i} of ${cls.name}`);
    let q = baseOf(site, cls, true);
    cls.key.forEach((name, i) => (q = q.where(sql.ref(cls.properties[name]!.column), '=', placeholders[i]!)));
    const query = q.compile();
    const keyAt = placeholders.map((p) => query.parameters.indexOf(p));
    if (keyAt.some((i) => i < 0))
      throw new Error(`${cls.name}: key parameters not found in its compiled query`);
    finder = { query, keyAt };
    perSite.set(cls, finder);
  }
  return finder;
}

/** Like findInstance; NOT_FOUND (0x80041002, 404) naming the class and key otherwise. */
export async function getInstance(site: ApiSite, cls: ApiClass, key: KeyValues): Promise<ApiRecord> {
  const record = await findInstance(site, cls, key);
  if (!record) {
    throw new SitecastError('NOT_FOUND', `${cls.name}(${formatKey(key)}) does not exist`, {
      field: cls.key.join(','),
    });
  }
  return record;
}

/** The URL key as property values: one bare value for a one-property key, Name=value for several. */
export function resolveKey(cls: ApiClass, literal: KeyLiteral): KeyValues {
  if (cls.key.length === 0) {
    throw new SitecastError('INVALID_PARAMETER', `${cls.name} has no instances`, { field: 'key' });
  }
  const given: Record<string, string | number> = {};
  if (literal.kind === 'positional') {
    if (cls.key.length !== 1) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `${cls.name} is keyed by ${cls.key.join(', ')}: write (${cls.key.map((k) => `${k}=…`).join(',')})`,
        { field: 'key' },
      );
    }
    given[cls.key[0]!] = literal.value;
  } else {
    for (const [name, value] of Object.entries(literal.values)) {
      const k = cls.key.find((n) => n.toLowerCase() === name.toLowerCase());
      if (!k)
        throw new SitecastError(
          'INVALID_PARAMETER',
          `${name} is not a key of ${cls.name} (keys: ${cls.key.join(', ')})`,
          { field: name },
        );
      given[k] = value;
    }
    const missing = cls.key.filter((k) => !Object.hasOwn(given, k));
    if (missing.length > 0) {
      throw new SitecastError('INVALID_PARAMETER', `the key of ${cls.name} lacks ${missing.join(', ')}`, {
        field: missing[0]!,
      });
    }
  }
  for (const k of cls.key) {
    const numeric = cls.properties[k]!.type !== 'string';
    const v = given[k]!;
    if (numeric && typeof v !== 'number') {
      if (!/^-?\d{1,15}$/.test(String(v))) {
        throw new SitecastError(
          'TYPE_MISMATCH',
          `key ${k} of ${cls.name} is a number, not ${JSON.stringify(v)}`,
          { field: k },
        );
      }
      given[k] = Number(v);
    }
    if (!numeric && typeof v !== 'string') {
      throw new SitecastError('TYPE_MISMATCH', `key ${k} of ${cls.name} is a string: quote it ('${v}')`, {
        field: k,
      });
    }
  }
  return given;
}

/** `'PS100001'` or `PackageID='PS100001',ServerNALPath='…'`, as the URL writes it. */
export function formatKey(key: KeyValues): string {
  const lit = (v: string | number): string =>
    typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`;
  const entries = Object.entries(key);
  if (entries.length === 1) return lit(entries[0]![1]);
  return entries.map(([k, v]) => `${k}=${lit(v)}`).join(',');
}

/** The class's ETag for a record: its own (SedoObjectVersion) or a hash of every property. */
export function etagOf(cls: ApiClass, record: ApiRecord): string {
  if (cls.etag) return cls.etag(record);
  const hash = createHash('sha256').update(JSON.stringify(record)).digest('base64url').slice(0, 22);
  return `W/"${hash}"`;
}

/** Does an If-Match header admit `etag`? `*` admits any; weak and strong forms compare equal. */
export function ifMatchAdmits(header: string, etag: string): boolean {
  const bare = (t: string): string => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}
