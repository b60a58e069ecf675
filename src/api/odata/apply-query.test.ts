import { beforeAll, describe, expect, it } from 'vitest';
import { forEachDialect } from '../../../test/support/dialects.js';
import type { ODataEntity } from './entity.js';
import { applyODataQuery, executeODataQuery } from './apply-query.js';
import { parseQueryOptions, type RawQuery } from './query-options.js';

interface ItemTable {
  id: number;
  name: string | null;
  priority: number | null;
  ratio: number | null;
  enabled: number | null;
  created: number | null;
  blob: string | null;
  owner_id: number | null;
}
type Scratch = {
  odata_item: ItemTable;
  odata_owner: { id: number; name: string };
};

/** The model the expectations are computed from, independently of SQL. */
interface Item {
  readonly Id: number;
  readonly Name: string | null;
  readonly Priority: number | null;
  readonly Ratio: number | null;
  readonly Enabled: number | null;
  readonly Created: number | null;
  readonly OwnerName: string | null;
}

const jan1 = Date.UTC(2026, 0, 1);
const owners = { 1: 'Alice', 2: 'bob' } as const;
// prettier-ignore
const rows: readonly (readonly [number, string | null, number | null, number | null, number | null, number | null, 1 | 2 | null])[] = [
  [1, 'Win11', 1, 0.5, 1, jan1, 1],
  [2, 'win10', 2, 1.5, 0, Date.UTC(2025, 5, 1), 2],
  [3, 'WIN_7', null, 2.25, null, null, null],
  [4, "O'Brien", 3, -1, 1, jan1 + 1, 1],
  [5, '50% off', 2, 0, 1, jan1 - 1, 2],
  [6, 'back\\slash', 1, 1, 0, jan1, null],
  [7, 'Émile', 4, 4.75, 1, jan1, 1],
  [8, 'émile', 5, null, 0, null, 2],
  [9, null, null, null, null, null, null],
  [10, '', 0, 0, 0, 0, 1],
  [11, 'x', 7, 7, 1, jan1 + 3_600_000, 2],
  [12, 'Win11 Pro', 3, 3.5, 1, jan1, 1],
  [13, 'win_10', 2, 2, null, jan1, null],
  [14, 'a%b', 6, 6.5, 0, jan1, 2],
  [15, 'WIN11', 1, 1.25, 1, jan1, 1],
];
const items: readonly Item[] = rows.map(([Id, Name, Priority, Ratio, Enabled, Created, owner]) => ({
  Id,
  Name,
  Priority,
  Ratio,
  Enabled,
  Created,
  OwnerName: owner === null ? null : owners[owner],
}));

const entity: ODataEntity = {
  name: 'SMS_Thing',
  key: ['Id'],
  properties: {
    Id: { column: 'i.id', type: 'int' },
    Name: { column: 'i.name', type: 'string' },
    Priority: { column: 'i.priority', type: 'int' },
    Ratio: { column: 'i.ratio', type: 'float' },
    Enabled: { column: 'i.enabled', type: 'bool' },
    Created: { column: 'i.created', type: 'datetime' },
    Blob: { column: 'i.blob', type: 'string', lazy: true },
    OwnerName: { column: 'o.name', type: 'string' },
  },
};

// The documented semantics, written out independently of the compiler.
const fold = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const eqs = (a: string | null, b: string): boolean => a !== null && fold(a) === fold(b);
const bytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
const num = (a: number | null, test: (v: number) => boolean): boolean => a !== null && test(a);

const filterCases: readonly (readonly [string, (i: Item) => boolean])[] = [
  ["Name eq 'win11'", (i) => eqs(i.Name, 'win11')],
  ["Name ne 'win11'", (i) => !eqs(i.Name, 'win11')],
  ['Name eq null', (i) => i.Name === null],
  ['Name ne null', (i) => i.Name !== null],
  ["Name eq ''", (i) => i.Name === ''],
  ["Name eq 'émile'", (i) => i.Name === 'émile'],
  ["Name eq 'ÉMILE'", (i) => i.Name === 'Émile'],
  ["Name eq 'O''Brien'", (i) => i.Name === "O'Brien"],
  ["startswith(Name,'win')", (i) => i.Name !== null && fold(i.Name).startsWith('win')],
  ["startswith(Name,'WIN_')", (i) => i.Name !== null && fold(i.Name).startsWith('win_')],
  ["startswith(Name,'')", (i) => i.Name !== null],
  ["startswith(Name,'wIn1')", (i) => i.Name !== null && fold(i.Name).startsWith('win1')],
  ["startswith(Name,'Émi')", (i) => i.Name === 'Émile'],
  ["startswith(Name,'a%')", (i) => i.Name === 'a%b'],
  ["contains(Name,'%')", (i) => i.Name?.includes('%') ?? false],
  ["contains(Name,'''')", (i) => i.Name?.includes("'") ?? false],
  ["endswith(Name,'\\SLASH')", (i) => i.Name?.endsWith('\\slash') ?? false],
  ["not startswith(Name,'win')", (i) => !(i.Name !== null && fold(i.Name).startsWith('win'))],
  ["Name in ('WIN10', 'x', null)", (i) => i.Name === null || eqs(i.Name, 'win10') || i.Name === 'x'],
  ["not (Name in ('win10'))", (i) => !eqs(i.Name, 'win10')],
  ["Name gt 'w'", (i) => i.Name !== null && bytes(fold(i.Name), 'w') > 0],
  [
    "tolower(Name) eq 'WIN10' or toupper(Name) eq 'o''brien'",
    (i) => eqs(i.Name, 'win10') || eqs(i.Name, "o'brien"),
  ],
  ['Priority gt 1', (i) => num(i.Priority, (v) => v > 1)],
  ['not (Priority gt 1)', (i) => !num(i.Priority, (v) => v > 1)],
  ['Priority le 1 or Priority eq null', (i) => i.Priority === null || i.Priority <= 1],
  ['5 gt Priority', (i) => num(i.Priority, (v) => 5 > v)],
  ['Priority in (1, 3, -2)', (i) => [1, 3].includes(i.Priority ?? NaN)],
  ['Ratio lt 1', (i) => num(i.Ratio, (v) => v < 1)],
  ['Ratio ge 1.5 and Ratio le 4.75', (i) => num(i.Ratio, (v) => v >= 1.5 && v <= 4.75)],
  ['Priority eq Ratio', (i) => i.Priority === i.Ratio],
  ['Priority ne Ratio', (i) => i.Priority !== i.Ratio],
  ['Ratio gt Priority', (i) => i.Ratio !== null && i.Priority !== null && i.Ratio > i.Priority],
  ['Enabled', (i) => i.Enabled === 1],
  ['not Enabled', (i) => i.Enabled !== 1],
  ['Enabled eq false', (i) => i.Enabled === 0],
  ['Enabled ne true', (i) => i.Enabled !== 1],
  ['Created ge 2026-01-01T00:00:00Z', (i) => num(i.Created, (v) => v >= jan1)],
  ['Created lt 2026-01-01T01:00:00+01:00', (i) => num(i.Created, (v) => v < jan1)],
  ['Created eq 2026-01-01T01:00:00.000Z', (i) => i.Created === jan1 + 3_600_000],
  ["OwnerName eq 'ALICE'", (i) => i.OwnerName === 'Alice'],
  ["OwnerName ne 'alice' and Enabled", (i) => i.OwnerName !== 'Alice' && i.Enabled === 1],
  [
    "(Name eq 'Win11' or Priority eq 3) and not Enabled eq false",
    (i) => (eqs(i.Name, 'win11') || i.Priority === 3) && i.Enabled !== 0,
  ],
];

/** Ascending nulls first, descending nulls last; strings by folded bytes, then bytes. */
function compareBy(property: keyof Item, direction: 'asc' | 'desc') {
  return (a: Item, b: Item): number => {
    const [x, y] = [a[property], b[property]];
    if (x === y) return 0;
    if (x === null) return direction === 'asc' ? -1 : 1;
    if (y === null) return direction === 'asc' ? 1 : -1;
    const c =
      typeof x === 'string' ? bytes(fold(x), fold(y as string)) || bytes(x, y as string) : x - (y as number);
    return direction === 'asc' ? c : -c;
  };
}

function sorted(...keys: [keyof Item, 'asc' | 'desc'][]): number[] {
  const cmps = [...keys, ['Id', 'asc'] as const].map(([p, d]) => compareBy(p, d));
  return [...items].sort((a, b) => cmps.reduce((r, c) => r || c(a, b), 0)).map((i) => i.Id);
}

forEachDialect('OData query compiler', (ctx) => {
  const db = () => ctx.database.db.withTables<Scratch>();
  const base = () =>
    db()
      .selectFrom('odata_item as i')
      .leftJoin('odata_owner as o', 'o.id', 'i.owner_id')
      .select(['i.id as id', 'i.name as name']);
  const run = async (raw: RawQuery) => {
    const result = await executeODataQuery(base(), parseQueryOptions(raw, entity), entity, {
      dialect: ctx.database.capabilities.name,
    });
    return { ids: result.rows.map((r) => r.id), count: result.count };
  };

  beforeAll(async () => {
    await db()
      .schema.createTable('odata_owner')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .execute();
    await db()
      .schema.createTable('odata_item')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text')
      .addColumn('priority', 'integer')
      .addColumn('ratio', 'double precision')
      .addColumn('enabled', 'integer')
      .addColumn('created', 'bigint')
      .addColumn('blob', 'text')
      .addColumn('owner_id', 'integer', (c) => c.references('odata_owner.id'))
      .execute();
    await db()
      .insertInto('odata_owner')
      .values([
        { id: 1, name: owners[1] },
        { id: 2, name: owners[2] },
      ])
      .execute();
    await db()
      .insertInto('odata_item')
      .values(
        rows.map(([id, name, priority, ratio, enabled, created, owner_id]) => ({
          id,
          name,
          priority,
          ratio,
          enabled,
          created,
          owner_id,
          blob: 'big',
        })),
      )
      .execute();
  });

  it.each(filterCases)('$filter=%s', async (filter, predicate) => {
    const expected = items.filter(predicate).map((i) => i.Id);
    expect(expected.length, 'a case matching nothing or everything tests little').toBeGreaterThan(0);
    const { ids } = await run({ $filter: filter });
    expect(ids).toEqual(expected);
  });

  it('every filter case selects a proper subset somewhere', () => {
    // Guard against a vacuous suite: most cases must exclude some rows.
    const partial = filterCases.filter(([, p]) => items.some((i) => !p(i)));
    expect(partial.length).toBeGreaterThan(filterCases.length - 3);
  });

  describe('$orderby and paging', () => {
    it.each([
      ['', sorted()],
      ['Name', sorted(['Name', 'asc'])],
      ['Name desc', sorted(['Name', 'desc'])],
      ['Priority desc,Name', sorted(['Priority', 'desc'], ['Name', 'asc'])],
      ['Enabled, Created desc', sorted(['Enabled', 'asc'], ['Created', 'desc'])],
      ['OwnerName desc, Ratio', sorted(['OwnerName', 'desc'], ['Ratio', 'asc'])],
    ])('$orderby=%s', async (orderby, expected) => {
      const { ids } = await run(orderby ? { $orderby: orderby } : {});
      expect(ids).toEqual(expected);
    });

    it('pages through $top/$skip without gaps or repeats', async () => {
      const expected = sorted(['Priority', 'desc']);
      const pages: number[] = [];
      for (let skip = 0; skip < items.length; skip += 4) {
        pages.push(...(await run({ $orderby: 'Priority desc', $top: '4', $skip: String(skip) })).ids);
      }
      expect(pages).toEqual(expected);
      expect((await run({ $skip: '12' })).ids).toEqual([13, 14, 15]);
      expect((await run({ $skip: '100' })).ids).toEqual([]);
    });

    it('$count=true gives the total of matches whatever $top and $skip say', async () => {
      const win = items.filter((i) => i.Name !== null && fold(i.Name).startsWith('win')).map((i) => i.Id);
      const r = await run({ $filter: "startswith(Name,'win')", $top: '2', $skip: '1', $count: 'true' });
      expect(r).toEqual({ ids: win.slice(1, 3), count: win.length });
      expect(await run({ $top: '0', $count: 'true' })).toEqual({ ids: [], count: items.length });
      expect((await run({ $top: '1' })).count).toBeUndefined();
    });
  });

  describe('default order', () => {
    // Keyed by Name (folded, so not index-friendly) but declaring an index-served default order.
    const indexed: ODataEntity = { ...entity, key: ['Name', 'Id'], defaultOrder: ['i.id'] };
    const runIndexed = async (raw: RawQuery) =>
      (
        await executeODataQuery(base(), parseQueryOptions(raw, indexed), indexed, {
          dialect: ctx.database.capabilities.name,
        })
      ).rows.map((r) => r.id);
    const byId = items.map((i) => i.Id).sort((a, b) => a - b);

    it('without $orderby, rows come in the declared order, and pages follow it', async () => {
      expect(await runIndexed({})).toEqual(byId);
      const pages: number[] = [];
      for (let skip = 0; skip < items.length; skip += 4)
        pages.push(...(await runIndexed({ $top: '4', $skip: String(skip) })));
      expect(pages).toEqual(byId);
      const win = items.filter((i) => i.Name !== null && fold(i.Name).startsWith('win')).map((i) => i.Id);
      expect(await runIndexed({ $filter: "startswith(Name,'win')", $top: '3' })).toEqual(win.slice(0, 3));
    });

    it('an explicit $orderby keeps its meaning, ties broken by the key', async () => {
      expect(await runIndexed({ $orderby: 'Priority desc' })).toEqual(
        sorted(['Priority', 'desc'], ['Name', 'asc']),
      );
    });
  });

  describe('injection', () => {
    it.each([
      ["Name eq 'x'' or 1=1 --'"],
      ["Name eq 'x''; drop table odata_item; --'"],
      ["contains(Name,'%'' or 1=1 or ''')"],
      ["Name in ('a'') or (1=1')"],
    ])('%s matches nothing and the table survives', async (filter) => {
      const query = parseQueryOptions({ $filter: filter }, entity);
      const { rows: sqlQuery } = applyODataQuery(base(), query, entity, {
        dialect: ctx.database.capabilities.name,
      });
      const compiled = sqlQuery.compile();
      expect(compiled.sql).not.toMatch(/1=1|drop table/i);
      expect(compiled.parameters.some((p) => typeof p === 'string' && /1=1|drop table/.test(p))).toBe(true);
      expect((await run({ $filter: filter })).ids).toEqual([]);
      expect((await run({ $count: 'true', $top: '0' })).count).toBe(items.length);
    });
  });

  it('runs the largest filters the limits allow', async () => {
    const chain =
      Array.from({ length: 200 }, (_, i) => `Priority eq ${i + 100}`).join(' or ') + ' or Priority eq 7';
    expect((await run({ $filter: chain })).ids).toEqual([11]);
    const list = `Name in (${Array.from({ length: 500 }, (_, i) => `'n${i}'`).join(',')},'X')`;
    expect((await run({ $filter: list })).ids).toEqual([11]);
    const deep = '(not '.repeat(32) + "Name eq 'x'" + ')'.repeat(32);
    expect((await run({ $filter: deep })).ids).toEqual([11]);
  });

  it('works on a plain single-table select with unqualified columns', async () => {
    const plain: ODataEntity = {
      name: 'SMS_Plain',
      key: ['Id'],
      properties: { Id: { column: 'id', type: 'int' }, Name: { column: 'name', type: 'string' } },
    };
    const query = parseQueryOptions(
      { $filter: "endswith(Name,'ILE')", $orderby: 'Name desc', $count: 'true' },
      plain,
    );
    const result = await executeODataQuery(db().selectFrom('odata_item').selectAll(), query, plain, {
      dialect: ctx.database.capabilities.name,
    });
    expect(result.rows.map((r) => [r.id, r.name, r.blob])).toEqual([
      [8, 'émile', 'big'],
      [7, 'Émile', 'big'],
    ]);
    expect(result.count).toBe(2);
  });
});
