/**
 * Applies a parsed ODataQuery to any Kysely select (one table or a join): WHERE from $filter, ORDER BY from
 * $orderby plus the entity key (so paging is deterministic) — or, without $orderby, the entity's
 * index-served default order when it declares one — LIMIT/OFFSET from $top/$skip, and a matching
 * COUNT(*) query for $count. Everything runs in the database with bound parameters.
 */
import { sql, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import { entityKey, findProperty, type ODataEntity } from './entity.js';
import { compileFilter } from './filter-compiler.js';
import type { ODataQuery } from './query-options.js';
import { sqlStringRules, type ODataDialect } from './sql-string-rules.js';

export interface ODataSqlOptions {
  /** The site database's dialect (`SiteDatabase.capabilities.name`): string folding differs per dialect. */
  readonly dialect: ODataDialect;
}

export interface ODataSelect<DB, TB extends keyof DB, O> {
  /** `base` with where, order by, limit and offset applied. */
  readonly rows: SelectQueryBuilder<DB, TB, O>;
  /** `select count(*) as count` over the same rows, ignoring $orderby/$top/$skip. */
  readonly count: SelectQueryBuilder<DB, TB, { count: number | string | bigint }>;
}

/**
 * `base` selects the entity's rows and has no where on user input, order by, limit, offset, group by or
 * distinct of its own (the count query reuses it). The query must have passed parseQueryOptions with the
 * same entity.
 */
export function applyODataQuery<DB, TB extends keyof DB, O>(
  base: SelectQueryBuilder<DB, TB, O>,
  query: ODataQuery,
  entity: ODataEntity,
  options: ODataSqlOptions,
): ODataSelect<DB, TB, O> {
  const filtered = query.filter ? base.where(compileFilter(query.filter, entity, options.dialect)) : base;
  let rows = filtered;
  if (query.orderBy.length === 0 && entity.defaultOrder) {
    // Not-null columns in an index's order: a NULLS clause would stop PostgreSQL from reading the index.
    for (const column of entity.defaultOrder) rows = rows.orderBy(sql.ref(column), 'asc');
  } else {
    for (const [expr, direction] of orderTerms(query, entity, options.dialect)) {
      // Nulls sort first ascending and last descending, as in SQL Server and SQLite; PostgreSQL is told so.
      rows = rows.orderBy(expr, (ob) =>
        direction === 'asc' ? ob.asc().nullsFirst() : ob.desc().nullsLast(),
      );
    }
  }
  if (query.top !== undefined) rows = rows.limit(query.top);
  if (query.skip !== undefined) {
    // SQLite accepts OFFSET only after a LIMIT.
    if (query.top === undefined) rows = rows.limit(Number.MAX_SAFE_INTEGER);
    rows = rows.offset(query.skip);
  }
  const count = filtered
    .clearSelect()
    .clearOrderBy()
    .clearLimit()
    .clearOffset()
    .select(sql<number | string | bigint>`count(*)`.as('count'))
    .$castTo<{ count: number | string | bigint }>();
  return { rows, count };
}

/** Runs the query: the rows, and the total number of matches when $count=true. */
export async function executeODataQuery<DB, TB extends keyof DB, O>(
  base: SelectQueryBuilder<DB, TB, O>,
  query: ODataQuery,
  entity: ODataEntity,
  options: ODataSqlOptions,
): Promise<{ readonly rows: O[]; readonly count?: number }> {
  const { rows, count } = applyODataQuery(base, query, entity, options);
  const found = await rows.execute();
  if (!query.count) return { rows: found };
  const total = await count.executeTakeFirstOrThrow();
  return { rows: found, count: Number(total.count) };
}

type OrderTerm = readonly [RawBuilder<unknown>, 'asc' | 'desc'];

/** $orderby items, then key properties not already used; strings fold case first, then bytes. */
function orderTerms(query: ODataQuery, entity: ODataEntity, dialect: ODataDialect): OrderTerm[] {
  const strings = sqlStringRules[dialect];
  const used = new Set(query.orderBy.map((o) => o.property));
  const items = [
    ...query.orderBy,
    ...entityKey(entity)
      .filter((k) => !used.has(k))
      .map((property) => ({ property, direction: 'asc' as const })),
  ];
  return items.flatMap(({ property, direction }): OrderTerm[] => {
    const p = findProperty(entity, property)!;
    const column = sql.ref(p.column);
    if (p.type !== 'string') return [[column, direction]];
    return [
      [strings.fold(column), direction],
      [strings.binary(column), direction],
    ];
  });
}
