/**
 * Parses the OData system query options of a collection request ($filter, $select, $orderby, $top, $skip,
 * $count) and checks them against the entity, so the routes get either a valid ODataQuery or one
 * SitecastError naming the option, the column and what was expected.
 */
import { SitecastError } from '../../kernel/index.js';
import type { FilterNode } from './ast.js';
import { findProperty, isFilterable, unknownPropertyMessage, type ODataEntity } from './entity.js';
import { checkFilter } from './filter-check.js';
import { defaultFilterLimits, parseFilter, type FilterLimits } from './filter-parser.js';
import { clip, queryError } from './query-error.js';

export interface ODataLimits extends FilterLimits {
  /** The largest `$top` accepted. */
  readonly maxTop: number;
}

export const defaultODataLimits: ODataLimits = { ...defaultFilterLimits, maxTop: 10_000 };

export interface OrderByItem {
  readonly property: string;
  readonly direction: 'asc' | 'desc';
}

export interface ODataQuery {
  /** The checked `$filter` tree, if one was given. */
  readonly filter?: FilterNode;
  /** Property names from `$select` in the order written, without duplicates; undefined means the default. */
  readonly select?: readonly string[];
  /** From `$orderby`; empty when absent (the compiler then orders by the entity key). */
  readonly orderBy: readonly OrderByItem[];
  readonly top?: number;
  readonly skip?: number;
  /** `$count=true`: the response carries `@odata.count`, the number of matches ignoring $top/$skip. */
  readonly count: boolean;
}

/** A parsed query string: fastify's `request.query`, or URLSearchParams. */
export type RawQuery = URLSearchParams | Readonly<Record<string, string | readonly string[] | undefined>>;

const supported = ['$filter', '$select', '$orderby', '$top', '$skip', '$count'] as const;
const knownUnsupported = new Set([
  '$expand',
  '$search',
  '$format',
  '$apply',
  '$compute',
  '$skiptoken',
  '$levels',
  '$index',
  '$deltatoken',
  '$schemaversion',
]);

/**
 * Validates every option starting with `$` (others are left to the route). Throws SitecastError
 * INVALID_QUERY (or TYPE_MISMATCH for a `$filter` literal of the wrong type) with details.field naming the
 * option and, where there is one, details.position the 1-based column.
 */
export function parseQueryOptions(
  raw: RawQuery,
  entity: ODataEntity,
  limits: Partial<ODataLimits> = {},
): ODataQuery {
  const lim = { ...defaultODataLimits, ...limits };
  const options = new Map<string, string>();
  for (const [name, value] of entries(raw)) {
    if (!name.startsWith('$')) continue;
    if (!(supported as readonly string[]).includes(name)) {
      const why = knownUnsupported.has(name) ? 'is not supported' : 'is not a known query option';
      const shown = clip(name);
      throw new SitecastError('INVALID_QUERY', `${shown} ${why} (supported: ${supported.join(', ')})`, {
        field: shown,
      });
    }
    if (options.has(name))
      throw new SitecastError('INVALID_QUERY', `${name} is given more than once`, { field: name });
    if (value.length > lim.maxLength) {
      throw queryError(name, value, lim.maxLength + 1, `${name} is longer than ${lim.maxLength} characters`);
    }
    options.set(name, value);
  }
  let filter: FilterNode | undefined;
  const filterText = options.get('$filter');
  if (filterText !== undefined) {
    filter = parseFilter(filterText, lim);
    checkFilter(filter, entity, filterText);
  }
  const select = options.get('$select');
  const orderBy = options.get('$orderby');
  const top = options.get('$top');
  const skip = options.get('$skip');
  return {
    ...(filter && { filter }),
    ...(select !== undefined && { select: parseSelect(select, entity) }),
    orderBy: orderBy === undefined ? [] : parseOrderBy(orderBy, entity),
    ...(top !== undefined && { top: parseCount('$top', top, lim.maxTop) }),
    ...(skip !== undefined && { skip: parseCount('$skip', skip, Number.MAX_SAFE_INTEGER) }),
    count: parseBoolean('$count', options.get('$count') ?? 'false'),
  };
}

function* entries(raw: RawQuery): Iterable<readonly [string, string]> {
  if (raw instanceof URLSearchParams) {
    yield* raw.entries();
    return;
  }
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (typeof value === 'string') yield [name, value];
    else for (const v of value) yield [name, v];
  }
}

interface Item {
  readonly text: string;
  /** 1-based column of the item's first non-blank character. */
  readonly column: number;
}

/** Comma-separated items with the column each starts at; an empty item is an error. */
function splitItems(field: string, text: string): Item[] {
  const items: Item[] = [];
  let offset = 0;
  for (const part of text.split(',')) {
    const lead = part.length - part.trimStart().length;
    const column = offset + lead + 1;
    if (part.trim() === '') throw queryError(field, text, column, 'expected a property name');
    items.push({ text: part.trim(), column });
    offset += part.length + 1;
  }
  return items;
}

function parseSelect(text: string, entity: ODataEntity): readonly string[] {
  const names: string[] = [];
  for (const item of splitItems('$select', text)) {
    if (item.text === '*') {
      names.push(...Object.keys(entity.properties).filter((n) => !entity.properties[n]!.lazy));
      continue;
    }
    if (!findProperty(entity, item.text)) {
      throw queryError('$select', text, item.column, unknownPropertyMessage(entity, item.text), {
        details: { property: item.text },
      });
    }
    names.push(item.text);
  }
  return [...new Set(names)];
}

function parseOrderBy(text: string, entity: ODataEntity): readonly OrderByItem[] {
  const seen = new Set<string>();
  return splitItems('$orderby', text).map((item) => {
    const m = /^(\S+)(?:\s+(\S+))?$/.exec(item.text);
    const [, name = '', dir] = m ?? [];
    if (!m || (dir !== undefined && dir !== 'asc' && dir !== 'desc')) {
      const at = m ? item.column + item.text.lastIndexOf(dir!) : item.column;
      throw queryError(
        '$orderby',
        text,
        at,
        "expected a property name, optionally followed by 'asc' or 'desc'",
      );
    }
    const p = findProperty(entity, name);
    const usable = Object.keys(entity.properties).filter((n) => isFilterable(entity.properties[n]!));
    if (!p)
      throw queryError('$orderby', text, item.column, unknownPropertyMessage(entity, name, usable), {
        details: { property: name },
      });
    if (!isFilterable(p)) {
      throw queryError('$orderby', text, item.column, `${entity.name}.${name} cannot be used in $orderby`, {
        details: { property: name },
      });
    }
    if (seen.has(name)) throw queryError('$orderby', text, item.column, `${name} appears twice`);
    seen.add(name);
    return { property: name, direction: dir === 'desc' ? 'desc' : 'asc' };
  });
}

function parseCount(field: '$top' | '$skip', text: string, max: number): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new SitecastError('INVALID_QUERY', `${field} must be a non-negative integer, got '${clip(text)}'`, {
      field,
    });
  }
  if (value > max)
    throw new SitecastError('INVALID_QUERY', `${field} must be at most ${max}, got ${value}`, { field });
  return value;
}

function parseBoolean(field: string, text: string): boolean {
  if (text !== 'true' && text !== 'false') {
    throw new SitecastError('INVALID_QUERY', `${field} must be true or false, got '${clip(text)}'`, {
      field,
    });
  }
  return text === 'true';
}
