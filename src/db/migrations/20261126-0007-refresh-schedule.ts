import type { Kysely } from 'kysely';

/**
 * When the refresh scheduler last looked at a package's RefreshSchedule: the slots in (that time, now]
 * are due, and however many were missed while the server was down, they make one run.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('package').addColumn('schedule_checked_at', 'bigint').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('package').dropColumn('schedule_checked_at').execute();
}
