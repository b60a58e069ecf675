import { expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { openDatabase } from './index.js';

forEachDialect('change stamp', (ctx) => {
  it('stays equal while nothing changes, whatever is read', async () => {
    const { db, changeStamp } = ctx.database;
    // PostgreSQL's snapshot is cluster-wide: other test files writing their own databases move it too (a
    // cache miss, not an error), so it must hold over a quiet moment, not every moment.
    let stable = false;
    const attempts = ctx.database.capabilities.name === 'sqlite' ? 1 : 50;
    for (let attempt = 0; attempt < attempts && !stable; attempt++) {
      const a = await changeStamp();
      await db.selectFrom('counter').selectAll().execute();
      await db.selectFrom('package').selectAll().execute();
      stable = (await changeStamp()) === a;
    }
    expect(stable).toBe(true);
  });

  it("moves with this process's own writes, in or out of a transaction", async () => {
    const { db, changeStamp } = ctx.database;
    const a = await changeStamp();
    await db.insertInto('counter').values({ name: 'own', value: 1 }).execute();
    const b = await changeStamp();
    expect(b).not.toBe(a);
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('counter').set({ value: 2 }).where('name', '=', 'own').execute();
    });
    const c = await changeStamp();
    expect(c).not.toBe(b);
    await db.deleteFrom('counter').where('name', '=', 'own').execute();
    expect(await changeStamp()).not.toBe(c);
  });

  it('moves when another connection (another process) commits', async () => {
    const { changeStamp } = ctx.database;
    const other = await openDatabase(ctx.database.url);
    try {
      const a = await changeStamp();
      await other.db.insertInto('counter').values({ name: 'theirs', value: 1 }).execute();
      const b = await changeStamp();
      expect(b).not.toBe(a);
      await other.db.updateTable('counter').set({ value: 5 }).where('name', '=', 'theirs').execute();
      expect(await changeStamp()).not.toBe(b);
    } finally {
      await other.close();
    }
  });
});
