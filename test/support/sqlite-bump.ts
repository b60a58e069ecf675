import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/index.js';

/** One read-then-write transaction on counter 'n', yielding in between as real code does. */
export async function bumpCounter(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('counter')
      .select('value')
      .where('name', '=', 'n')
      .executeTakeFirstOrThrow();
    await new Promise((r) => setTimeout(r, 1));
    await trx
      .updateTable('counter')
      .set({ value: row.value + 1 })
      .where('name', '=', 'n')
      .execute();
  });
}
