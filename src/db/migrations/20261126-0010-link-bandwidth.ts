import type { Kysely } from 'kysely';

/**
 * Rate limit and availability of each link to a child site: content sent down a WAN link is paced like
 * content sent to a DP (reference §4: Configuration Manager's site senders have rate limits and schedules).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('site_link')
    .addColumn('rate_limit', 'text', (c) => c.notNull().defaultTo('unlimited'))
    .execute();
  await db.schema
    .alterTable('site_link')
    .addColumn('availability', 'text', (c) => c.notNull().defaultTo('0'.repeat(168)))
    .execute();
  await db.schema.alterTable('site_link').addColumn('time_zone', 'text').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['time_zone', 'availability', 'rate_limit'])
    await db.schema.alterTable('site_link').dropColumn(c).execute();
}
