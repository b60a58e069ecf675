/**
 * How one AdminService class is described: its properties (type, SQL column, access), its key, how its rows
 * are read (a Kysely select, so OData options compile to SQL), how it is written, and its methods. The routes,
 * `$metadata` and the OpenAPI document are all generated from these descriptions: one source of truth.
 */
import type { SelectQueryBuilder } from 'kysely';
import type { Principal } from '../auth/index.js';
import { SitecastError } from '../kernel/index.js';
import type { ODataEntity, ODataPropertyType } from './odata/index.js';
import type { ApiSite } from './api-site.js';

/** Property types as the API shows them; `uint32` and `int64` are Edm.Int64, arrays are collections. */
export type ApiPropertyType =
  | 'string'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float'
  | 'bool'
  | 'datetime'
  | 'string[]'
  | 'int[]'
  | 'object'
  | 'object[]';

export interface ApiProperty {
  readonly type: ApiPropertyType;
  /** The column behind the property in the class's base select (`package.name`, `v.Targeted`). */
  readonly column: string;
  /** Large value left out of listings; a single-instance GET returns it. */
  readonly lazy?: boolean;
  /** False for values computed outside SQL (they can be selected but not filtered or ordered). */
  readonly filterable?: boolean;
  /** 'rw': create and update; 'create': only on create; absent: read-only. */
  readonly access?: 'rw' | 'create';
  readonly description?: string;
}

export interface ApiParameter {
  readonly type: ApiPropertyType;
  readonly required?: boolean;
  readonly description?: string;
}

/** Who is acting, for services that record it and for the audit log. */
export interface ApiContext {
  readonly site: ApiSite;
  readonly principal: Principal;
  readonly remoteAddress: string;
}

export type KeyValues = Readonly<Record<string, string | number>>;
export type ApiRecord = Record<string, unknown>;

export interface ApiMethod {
  readonly name: string;
  /** Static methods are called on the class (`Class.Method`), instance methods on `Class('key')`. */
  readonly binding: 'static' | 'instance';
  readonly description: string;
  readonly params: Readonly<Record<string, ApiParameter>>;
  /** Out parameters besides ReturnValue. */
  readonly out?: Readonly<Record<string, ApiPropertyType>>;
  /** Runs the method; `key` is set for instance methods. Throws SitecastError on failure. */
  run(
    ctx: ApiContext,
    params: Readonly<Record<string, unknown>>,
    key: KeyValues | undefined,
  ): Promise<ApiRecord>;
}

/**
 * Row source of a class: any select whose rows `toRecord` understands. Types are erased here because each
 * class selects from its own join or sub-select; the entity's columns are the contract.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's builder types differ per class; see above.
export type BaseQuery = SelectQueryBuilder<any, any, Record<string, unknown>>;

export interface ApiClass {
  readonly name: string;
  readonly description: string;
  readonly properties: Readonly<Record<string, ApiProperty>>;
  readonly key: readonly string[];
  /**
   * The order of a listing without `$orderby` when the key's (case-folded strings) cannot be read from an
   * index: columns of the base select (hidden ones too, not only properties) that identify a row, compared
   * as stored, in an order an index serves. Absent: the key.
   */
  readonly defaultOrder?: readonly string[];
  /**
   * The base is a view (classes/view.ts) that selects a column for every property, and toRecord keeps
   * every property in class order: listings on SQLite read each row as one JSON array (class-store.ts),
   * much cheaper than one JS object per row at thousands of rows, and need no `$select` projection.
   */
  readonly packedRows?: boolean;
  /**
   * toRecord is the generic recordFromRow: on SQLite, listings have the database write each record's JSON
   * (sql-records.ts) instead of building and serializing records in JS.
   */
  readonly plainRecords?: boolean;
  /**
   * The rows of the class; `lazy` also selects lazy properties (single-instance reads). Built once per site
   * and reused (class-store.ts), so it must not read the clock or anything else that changes.
   */
  base?(site: ApiSite, options: { readonly lazy: boolean }): BaseQuery;
  /** A selected row → the class's PascalCase record (values as JSON: ISO dates, booleans). */
  toRecord?(
    row: Record<string, unknown>,
    options: { readonly lazy: boolean; readonly site: ApiSite },
  ): ApiRecord;
  /** The ETag of a record; default: a hash of the whole record. */
  etag?(record: ApiRecord): string;
  /** Creates an instance; `extra` is merged into the answer (a new token's secret, shown once). */
  create?(ctx: ApiContext, body: Readonly<Record<string, unknown>>): Promise<Created>;
  /** `expectedEtag` is the If-Match value (already checked against the current record by the router). */
  update?(
    ctx: ApiContext,
    key: KeyValues,
    body: Readonly<Record<string, unknown>>,
    expectedEtag: string | undefined,
  ): Promise<KeyValues>;
  delete?(ctx: ApiContext, key: KeyValues): Promise<void>;
  readonly methods?: readonly ApiMethod[];
}

export interface Created {
  readonly key: KeyValues;
  readonly extra?: ApiRecord;
}

const odataTypes: Readonly<Record<ApiPropertyType, ODataPropertyType>> = {
  string: 'string',
  int32: 'int',
  uint32: 'int',
  int64: 'int',
  float: 'float',
  bool: 'bool',
  datetime: 'datetime',
  'string[]': 'string',
  'int[]': 'string',
  object: 'string',
  'object[]': 'string',
};

const entities = new WeakMap<ApiClass, ODataEntity>();

/** The OData description of a class: what `$filter`, `$select`, `$orderby` may name. */
export function entityOf(cls: ApiClass): ODataEntity {
  let e = entities.get(cls);
  if (!e) {
    const properties = Object.fromEntries(
      Object.entries(cls.properties).map(([name, p]) => {
        const structured = p.type.endsWith('[]') || p.type === 'object';
        const filterable = p.filterable ?? (!p.lazy && !structured);
        return [name, { column: p.column, type: odataTypes[p.type], filterable, lazy: p.lazy ?? false }];
      }),
    );
    e = {
      name: cls.name,
      key: cls.key,
      properties,
      ...(cls.defaultOrder && { defaultOrder: cls.defaultOrder }),
    };
    entities.set(cls, e);
  }
  return e;
}

/**
 * A generic row → record conversion for classes whose base select aliases columns to property names:
 * epoch ms become ISO 8601, 0/1 become booleans, numeric strings (PostgreSQL sums) become numbers.
 */
export function recordFromRow(cls: ApiClass, row: Readonly<Record<string, unknown>>): ApiRecord {
  const out: ApiRecord = {};
  for (const [name, convert] of converters(cls)) {
    if (!Object.hasOwn(row, name)) continue;
    const v = row[name];
    out[name] = v === null || v === undefined ? null : convert(v);
  }
  return out;
}

type Converter = (v: unknown) => unknown;

const identity: Converter = (v) => v;

/** A non-null stored value → its JSON value, per type (recordFromRow runs one per column and row). */
const converterByType: Readonly<Record<ApiPropertyType, Converter>> = {
  datetime: (v) => new Date(Number(v)).toISOString(),
  bool: (v) => v === true || Number(v) !== 0,
  int32: Number,
  uint32: Number,
  int64: Number,
  float: Number,
  string: identity,
  'string[]': identity,
  'int[]': identity,
  object: identity,
  'object[]': identity,
};

const converterLists = new WeakMap<ApiClass, readonly (readonly [string, Converter])[]>();

/** The class's property names and value converters, listed once per class. */
function converters(cls: ApiClass): readonly (readonly [string, Converter])[] {
  let list = converterLists.get(cls);
  if (!list) {
    list = Object.entries(cls.properties).map(([name, p]) => [name, converterByType[p.type]] as const);
    converterLists.set(cls, list);
  }
  return list;
}

export function jsonValue(type: ApiPropertyType, v: unknown): unknown {
  return v === null || v === undefined ? null : converterByType[type](v);
}

/** Picks the writable properties a body may carry; a read-only or unknown one is INVALID_PARAMETER. */
export function checkWritable(
  cls: ApiClass,
  body: Readonly<Record<string, unknown>>,
  phase: 'create' | 'update',
  extra: readonly string[] = [],
): void {
  for (const name of Object.keys(body)) {
    if (extra.includes(name)) continue;
    const p = Object.hasOwn(cls.properties, name) ? cls.properties[name] : undefined;
    if (!p) {
      throw new SitecastError('INVALID_PARAMETER', `${cls.name} has no property ${name}`, { field: name });
    }
    if (p.access === 'rw' || (p.access === 'create' && phase === 'create')) continue;
    throw new SitecastError('INVALID_PARAMETER', `${cls.name}.${name} is read-only`, { field: name });
  }
}

/** A required string property or parameter, INVALID_PARAMETER naming it otherwise. */
export function requireString(body: Readonly<Record<string, unknown>>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v.trim() === '') {
    throw new SitecastError('INVALID_PARAMETER', `${name} is required (a non-empty string)`, { field: name });
  }
  return v;
}

/** The string value of a key property. */
export function keyString(key: KeyValues, name: string): string {
  return String(key[name]);
}
