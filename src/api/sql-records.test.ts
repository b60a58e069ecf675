import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDialect, forEachDialect } from '../../test/support/dialects.js';
import { seededRandom } from '../../test/support/seeded-random.js';
import { DpState } from '../distribution/index.js';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';
import { listInstances, listInstancesJson } from './class-store.js';
import { recordFromRow, type ApiClass } from './class-model.js';
import { smsPackageStatusDistPointsSummarizerClass as summarizer } from './classes/status.classes.js';
import { viewProperties } from './classes/view.js';
import { sqlRecordSelect } from './sql-records.js';

forEachDialect('records written by the database', (ctx) => {
  const cls: ApiClass = {
    name: 'Test_Plain',
    description: 'a class of every converted type',
    key: ['S'],
    properties: viewProperties({
      S: { type: 'string' },
      N: { type: 'int64' },
      F: { type: 'float' },
      B: { type: 'bool' },
      T: { type: 'datetime' },
    }),
    plainRecords: true,
  };
  const db = (): Kysely<unknown> => ctx.database.db as unknown as Kysely<unknown>;

  /** The SQL record of one row of values, parsed, beside recordFromRow's record of the same row. */
  async function both(row: Record<string, unknown>): Promise<[unknown, unknown]> {
    const select = sqlRecordSelect(cls, ['S', 'N', 'F', 'B', 'T'], ctx.dialect)!;
    // Values as text (PostgreSQL's type for an untyped parameter), as numbers on SQLite: both convert.
    const [S, N, F, B, T] = ['S', 'N', 'F', 'B', 'T'].map((k) => sql.ref(k));
    const inner = sql`select ${row.S} as ${S}, ${row.N} as ${N}, ${row.F} as ${F}, ${row.B} as ${B}, ${row.T} as ${T}`;
    const r = await sql<{ record: string }>`select ${select} from (${inner}) as v`.execute(db());
    return [JSON.parse(r.rows[0]!.record), recordFromRow(cls, row)];
  }

  it('converts like recordFromRow: times, booleans, numbers, strings, nulls', async () => {
    const fixed: Record<string, unknown>[] = [
      { S: 'a"b\\c\n\u00e9\u2192', N: 0, F: 1.5, B: 1, T: 0 },
      { S: '', N: -42, F: -0.25, B: 0, T: 999 },
      { S: null, N: null, F: null, B: null, T: null },
      { S: 'x', N: 2 ** 53 - 1, F: 12500000, B: 1, T: 1 },
      { S: 'y', N: 7, F: 3, B: 0, T: 253402300799999 },
      { S: 'z', N: '15', F: '2.5', B: 1, T: 1_764_156_237_516 },
    ];
    for (const row of fixed) {
      const [fromSql, fromJs] = await both(row);
      expect(fromSql, JSON.stringify(row)).toEqual(fromJs);
    }
  });

  it('writes every time of years 0000-9999 to the millisecond as toISOString does', async () => {
    const r = seededRandom(20261126);
    for (let i = 0; i < 2000; i++) {
      const t = i % 2 ? r.int(0, 253402300799999) : r.int(1_600_000_000_000, 1_900_000_000_000);
      const [fromSql, fromJs] = await both({ S: 's', N: 1, F: 1, B: 1, T: t });
      expect((fromSql as { T: string }).T, String(t)).toBe((fromJs as { T: string }).T);
    }
  });

  it('declines classes that are not plain, or have a type it does not convert', () => {
    expect(sqlRecordSelect({ ...cls, plainRecords: false }, ['S'], ctx.dialect)).toBeUndefined();
    const withArray: ApiClass = {
      ...cls,
      properties: viewProperties({ S: { type: 'string' }, L: { type: 'string[]' } }),
    };
    expect(sqlRecordSelect(withArray, ['S', 'L'], ctx.dialect)).toBeUndefined();
    expect(sqlRecordSelect(withArray, ['S'], ctx.dialect)).toBeDefined();
  });
});

eachDialect('SMS_PackageStatusDistPointsSummarizer listed as SQL-written text', (dialect) => {
  let f: ApiFixture;
  let pkg: string;
  beforeAll(async () => {
    f = await createApiFixture(dialect);
    const dps = await f.t.addDps(12);
    const created = await f.call('POST', '/AdminService/wmi/SMS_Package', {
      body: { Name: 'Office', PkgSourcePath: f.folderSource('o') },
    });
    pkg = (created.json as { PackageID: string }).PackageID;
    await f.call('POST', `/AdminService/wmi/SMS_Package('${pkg}')/AdminService.AddDistributionPoints`, {
      body: { NALPath: dps },
    });
    await f.t.drain();
    // Mixed states, errors, waits and odd rates, as a busy site has them.
    const db = f.t.site.database.db;
    const states = Object.values(DpState);
    const ids = (await db.selectFrom('package_dp').select('dp_id').execute()).map((r) => r.dp_id);
    for (const [i, id] of ids.entries()) {
      await db
        .updateTable('package_dp')
        .set({
          state: states[i % states.length]!,
          last_error: i % 3 ? null : `copy failed: "disk full" \\ ${i}`,
          wait_reason: i % 4 ? null : 'rate window closed',
          resume_at: i % 2 ? null : 1_764_156_237_516 + i,
          // A fractional rate only where the column takes one (SQLite's bigint affinity keeps reals).
          rate: i % 5 === 0 ? (dialect === 'sqlite' ? 1234.5 : 1234) : i * 1000,
        })
        .where('dp_id', '=', id)
        .execute();
    }
  });
  afterAll(() => f?.close());

  it('gives the records the JS path gives, for every query shape', async () => {
    const queries = [
      {},
      { $filter: `PackageID eq '${pkg}'` },
      { $filter: `PackageID eq '${pkg}' and State ne 0`, $top: '5', $skip: '2' },
      { $select: 'ServerName,ResumeAt,TransferRate', $count: 'true' },
      { $filter: "startswith(ServerName,'DP0')", $top: '3', $count: 'true' },
      { $orderby: 'ServerName desc', $top: '4' },
    ];
    // Counts the records made in JS: none unless an explicit $orderby keeps the listing on the JS path.
    let madeInJs = 0;
    const counted: ApiClass = {
      ...summarizer,
      toRecord: (row, options) => (madeInJs++, summarizer.toRecord!(row, options)),
    };
    for (const q of queries) {
      const js = await listInstances(f.t.site, summarizer, q);
      madeInJs = 0;
      const text = await listInstancesJson(f.t.site, counted, q);
      expect(madeInJs, JSON.stringify(q)).toBe('$orderby' in q ? js.value.length : 0);
      expect(JSON.parse(text.value.toString('utf8')), JSON.stringify(q)).toEqual(js.value);
      expect(text.count, JSON.stringify(q)).toBe(js.count);
      expect(js.value.length).toBeGreaterThan(0);
    }
    const none = await listInstancesJson(f.t.site, summarizer, { $filter: "PackageID eq 'PS999999'" });
    expect(none.value.toString('utf8')).toBe('[]');
  });
});
