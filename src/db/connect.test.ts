import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { forEachDialect } from '../../test/support/dialects.js';
import { openDatabase } from './index.js';
import { migrations } from './migrations/index.js';

forEachDialect('site database', (ctx) => {
  it('creates every table of the schema', async () => {
    const { db } = ctx.database;
    for (const table of [
      'site',
      'counter',
      'package',
      'package_version',
      'distribution_point',
      'package_dp',
      'status_message',
      'job',
    ] as const) {
      const rows = await db.selectFrom(table).selectAll().execute();
      expect(rows).toEqual([]);
    }
  });

  it('returns bigint columns as numbers', async () => {
    const { db } = ctx.database;
    await db
      .insertInto('counter')
      .values({ name: 'big', value: 2 ** 40 })
      .execute();
    const row = await db
      .selectFrom('counter')
      .selectAll()
      .where('name', '=', 'big')
      .executeTakeFirstOrThrow();
    expect(row.value).toBe(2 ** 40);
  });

  it('is idempotent when migrated twice', async () => {
    const again = await openDatabase(ctx.database.url);
    const r = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(again.db);
    expect(Number(r.rows[0]?.n)).toBe(Object.keys(migrations).length);
    await again.close();
  });
});
