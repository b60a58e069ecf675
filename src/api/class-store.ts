/**
 * Reading classes for the routes: collections through the OData layer (SQL), single instances by key,
 * keys from the URL checked against the class, and ETags.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { SitecastError } from '../kernel/index.js';
import type { ApiSite } from './api-site.js';
import { entityOf, type ApiClass, type ApiRecord, type KeyValues } from './class-model.js';
import {
  executeODataQuery,
  parseQueryOptions,
  projectRecord,
  selectedProperties,
  type RawQuery,
} from './odata/index.js';
import type { KeyLiteral } from './resource-path.js';

export interface CollectionResult {
  readonly value: readonly ApiRecord[];
  readonly count?: number;
}

/** GET on a class: `$filter/$select/$orderby/$top/$skip/$count` compiled to SQL. */
export async function listInstances(site: ApiSite, cls: ApiClass, raw: RawQuery): Promise<CollectionResult> {
  const entity = entityOf(cls);
  const query = parseQueryOptions(raw, entity);
  if (!cls.base || !cls.toRecord) return { value: [], ...(query.count && { count: 0 }) };
  const lazy = (query.select ?? []).some((n) => cls.properties[n]?.lazy === true);
  const { rows, count } = await executeODataQuery(cls.base(site, { lazy }), query, entity, {
    dialect: site.database.capabilities.name,
  });
  const names = selectedProperties(query, entity);
  const value = rows.map((row) => projectRecord(cls.toRecord!(row, { lazy, site }), names));
  return { value, ...(count !== undefined && { count }) };
}

/** One instance with its lazy properties, or undefined. */
export async function findInstance(
  site: ApiSite,
  cls: ApiClass,
  key: KeyValues,
): Promise<ApiRecord | undefined> {
  if (!cls.base || !cls.toRecord) return undefined;
  let q = cls.base(site, { lazy: true });
  for (const [name, value] of Object.entries(key))
    q = q.where(sql.ref(cls.properties[name]!.column), '=', value);
  const row = await q.executeTakeFirst();
  return row ? cls.toRecord(row, { lazy: true, site }) : undefined;
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
