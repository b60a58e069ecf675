import type { Kysely } from 'kysely';

/**
 * Health of each DP as the site's health monitor last saw it (online / degraded / offline, null = never
 * checked), the error that made it so, when the DP last answered and when it was last probed, its free
 * space, and the error of its last transfer (null when that transfer succeeded): a DP that answers probes
 * but fails transfers is degraded.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('distribution_point').addColumn('health_state', 'text').execute();
  await db.schema.alterTable('distribution_point').addColumn('health_error', 'text').execute();
  await db.schema.alterTable('distribution_point').addColumn('health_contact_at', 'bigint').execute();
  await db.schema.alterTable('distribution_point').addColumn('health_checked_at', 'bigint').execute();
  await db.schema.alterTable('distribution_point').addColumn('health_free_bytes', 'bigint').execute();
  await db.schema.alterTable('distribution_point').addColumn('transfer_error', 'text').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const c of [
    'transfer_error',
    'health_free_bytes',
    'health_checked_at',
    'health_contact_at',
    'health_error',
    'health_state',
  ])
    await db.schema.alterTable('distribution_point').dropColumn(c).execute();
}
