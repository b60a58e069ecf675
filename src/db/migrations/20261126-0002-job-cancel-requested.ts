import type { Kysely } from 'kysely';

/**
 * A running job that is cancelled keeps state 'running' (so its key and its concurrency slot stay held)
 * until its handler has stopped; this flag tells the handler at its next heartbeat.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('job')
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('job').dropColumn('cancel_requested').execute();
}
