import type { Kysely } from 'kysely';

/**
 * DP bandwidth settings (rate limit, 7 × 24 availability, the time zone the matrix is read in) and, per
 * package × DP, why a transfer is waiting and when it resumes, so status never says just "in progress".
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('distribution_point')
    .addColumn('rate_limit', 'text', (c) => c.notNull().defaultTo('unlimited'))
    .execute();
  await db.schema
    .alterTable('distribution_point')
    .addColumn('availability', 'text', (c) => c.notNull().defaultTo('0'.repeat(168)))
    .execute();
  await db.schema.alterTable('distribution_point').addColumn('time_zone', 'text').execute();
  await db.schema.alterTable('package_dp').addColumn('wait_reason', 'text').execute();
  await db.schema.alterTable('package_dp').addColumn('resume_at', 'bigint').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('package_dp').dropColumn('resume_at').execute();
  await db.schema.alterTable('package_dp').dropColumn('wait_reason').execute();
  for (const c of ['time_zone', 'availability', 'rate_limit'])
    await db.schema.alterTable('distribution_point').dropColumn(c).execute();
}
