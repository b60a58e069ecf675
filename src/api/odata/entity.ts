/**
 * What the routes tell the query layer about one class (SMS_Package, SMS_DistributionPoint, …): which
 * PascalCase properties exist, the SQL column behind each and its type.
 */
import { SitecastError } from '../../kernel/index.js';
import { clip } from './query-error.js';

/**
 * Property types as stored in the site database: `datetime` is UTC epoch ms in an integer column, `bool`
 * is 0/1 in an integer column.
 */
export type ODataPropertyType = 'string' | 'int' | 'float' | 'bool' | 'datetime';

export interface ODataProperty {
  /** A column reference Kysely understands: `name`, or `p.name` in a joined query. Trusted code only. */
  readonly column: string;
  readonly type: ODataPropertyType;
  /** Usable in `$filter` and `$orderby`. Default: true, except for lazy properties. */
  readonly filterable?: boolean;
  /** Large values (ImageProperty) left out of listings unless `$select` names them. */
  readonly lazy?: boolean;
}

export interface ODataEntity {
  /** The class name, for messages: `SMS_Package`. */
  readonly name: string;
  /** PascalCase property name → column and type. Object key order is the default `$select` order. */
  readonly properties: Readonly<Record<string, ODataProperty>>;
  /** Properties that identify a row; the default order and the tie-breaker that makes paging stable. */
  readonly key: readonly string[];
  /**
   * The order when the query has no `$orderby`, instead of the key: columns (trusted code) that identify a
   * row together and that an index of the base select serves in this order, so `$top=50` reads 50 rows
   * rather than sorting every match. Ascending, compared as stored (not case-folded).
   */
  readonly defaultOrder?: readonly string[];
}

export function isFilterable(p: ODataProperty): boolean {
  return p.filterable ?? !p.lazy;
}

/** The property called `name` (case-sensitive, as in the classes), or undefined. */
export function findProperty(entity: ODataEntity, name: string): ODataProperty | undefined {
  return Object.hasOwn(entity.properties, name) ? entity.properties[name] : undefined;
}

/**
 * "SMS_Package has no property 'Nmae' (did you mean Name?; valid: PackageID, Name, …)": a near miss first,
 * then a few valid names so the admin can fix the query without reading $metadata.
 */
export function unknownPropertyMessage(
  entity: ODataEntity,
  name: string,
  usable?: readonly string[],
): string {
  const names = usable ?? Object.keys(entity.properties);
  const near = names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? closest(names, name);
  const listed = names.slice(0, 8).join(', ') + (names.length > 8 ? ', …' : '');
  return `${entity.name} has no property '${clip(name, 60)}' (${near ? `did you mean ${near}?; ` : ''}valid: ${listed})`;
}

/** The entity's key, checked once so a route bug shows up as a clear error rather than bad paging. */
export function entityKey(entity: ODataEntity): readonly string[] {
  if (entity.key.length === 0 || entity.key.some((k) => findProperty(entity, k) === undefined)) {
    throw new SitecastError('FAILED', `entity ${entity.name} declares an unknown or empty key`, {
      field: 'key',
    });
  }
  return entity.key;
}

function closest(names: readonly string[], name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const n of names) {
    const d = editDistance(n.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [n, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}
