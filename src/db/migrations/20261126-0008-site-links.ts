import type { Kysely } from 'kysely';

/**
 * The site hierarchy (design §6): this site's links to its children (`site_link`), its link to its parent
 * (`site_parent`, at most one row), and what children reported about themselves and their descendants
 * (`site_report_site`, `site_report_package`, `site_report_dp`), so the top site can show every DP.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('site_link')
    .addColumn('site_code', 'varchar(3)', (c) => c.primaryKey())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    // The per-link secret the parent issued at join; both ends sign every call with it.
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('last_contact', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('bytes_sent', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('site_parent')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('site_code', 'varchar(3)', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('last_contact', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('site_report_site')
    .addColumn('site_code', 'varchar(3)', (c) => c.primaryKey())
    // The direct child whose report carried this row (a grandchild's rows come through its parent).
    .addColumn('via_child', 'varchar(3)', (c) => c.notNull())
    .addColumn('parent_code', 'varchar(3)', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('site_report_site_via').on('site_report_site').column('via_child').execute();

  await db.schema
    .createTable('site_report_package')
    .addColumn('site_code', 'varchar(3)', (c) => c.notNull())
    .addColumn('package_id', 'varchar(8)', (c) => c.notNull())
    .addColumn('via_child', 'varchar(3)', (c) => c.notNull())
    .addColumn('source_version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('site_report_package_pk', ['site_code', 'package_id'])
    .execute();
  await db.schema
    .createIndex('site_report_package_via')
    .on('site_report_package')
    .column('via_child')
    .execute();

  await db.schema
    .createTable('site_report_dp')
    .addColumn('site_code', 'varchar(3)', (c) => c.notNull())
    .addColumn('package_id', 'varchar(8)', (c) => c.notNull())
    .addColumn('nal_path', 'text', (c) => c.notNull())
    .addColumn('via_child', 'varchar(3)', (c) => c.notNull())
    // The SMS_PackageStatusDistPointsSummarizer row as the DP's site reported it (JSON, zod-checked on read).
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('site_report_dp_pk', ['site_code', 'package_id', 'nal_path'])
    .execute();
  await db.schema.createIndex('site_report_dp_via').on('site_report_dp').column('via_child').execute();
  await db.schema.createIndex('site_report_dp_pkg').on('site_report_dp').column('package_id').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['site_report_dp', 'site_report_package', 'site_report_site', 'site_parent', 'site_link'])
    await db.schema.dropTable(t).execute();
}
