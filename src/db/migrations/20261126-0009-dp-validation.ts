import type { Kysely } from 'kysely';

/**
 * A content validation schedule per DP (re-hash everything it holds, lowest priority), whether a failed
 * validation repairs itself, and when the scheduler last looked.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('distribution_point').addColumn('validation_schedule', 'text').execute();
  await db.schema
    .alterTable('distribution_point')
    .addColumn('validation_repair', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('distribution_point').addColumn('validation_checked_at', 'bigint').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['validation_checked_at', 'validation_repair', 'validation_schedule'])
    await db.schema.alterTable('distribution_point').dropColumn(c).execute();
}
