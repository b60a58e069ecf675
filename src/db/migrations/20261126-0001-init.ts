import { sql, type Kysely } from 'kysely';
import { autoIncrementId } from '../dialect-helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  // `bigint` holds epoch ms and byte counts on PostgreSQL; SQLite stores any integer in INTEGER.
  await db.schema
    .createTable('site')
    .addColumn('site_code', 'varchar(3)', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('parent_url', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('counter')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('package')
    .addColumn('package_id', 'varchar(8)', (c) => c.primaryKey())
    .addColumn('package_type', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('manufacturer', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('language', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('pkg_source_path', 'text')
    .addColumn('pkg_source_flag', 'integer', (c) => c.notNull())
    .addColumn('pkg_flags', 'bigint', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('source_version', 'integer', (c) => c.notNull())
    .addColumn('stored_pkg_version', 'integer', (c) => c.notNull())
    .addColumn('source_date', 'bigint')
    .addColumn('last_refresh_time', 'bigint')
    .addColumn('source_site', 'varchar(3)', (c) => c.notNull())
    .addColumn('action_in_progress', 'integer', (c) => c.notNull())
    .addColumn('sedo_object_version', 'integer', (c) => c.notNull())
    .addColumn('image_property', 'text')
    .addColumn('image_index', 'integer')
    .addColumn('refresh_schedule', 'text')
    .addColumn('package_size_kb', 'bigint', (c) => c.notNull())
    .addColumn('forced_disconnect_enabled', 'integer', (c) => c.notNull())
    .addColumn('forced_disconnect_delay', 'integer', (c) => c.notNull())
    .addColumn('forced_disconnect_num_retries', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('package_version')
    .addColumn('package_id', 'varchar(8)', (c) =>
      c.notNull().references('package.package_id').onDelete('cascade'),
    )
    .addColumn('source_version', 'integer', (c) => c.notNull())
    .addColumn('manifest_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('total_bytes', 'bigint', (c) => c.notNull())
    .addColumn('file_count', 'integer', (c) => c.notNull())
    .addColumn('chunk_count', 'integer', (c) => c.notNull())
    // The refresh job that created the version: a re-run of the same job finds it and does not bump again.
    .addColumn('job_id', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('package_version_pk', ['package_id', 'source_version'])
    .execute();

  await db.schema
    .createTable('distribution_point')
    .addColumn('dp_id', 'integer', autoIncrementId(db))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('nal_path', 'text', (c) => c.notNull().unique())
    .addColumn('server_name', 'text', (c) => c.notNull())
    .addColumn('site_code', 'varchar(3)', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('is_pull', 'integer', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('maintenance_mode', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('distribution_point_name')
    .unique()
    .on('distribution_point')
    .column('name')
    .execute();

  await db.schema
    .createTable('package_dp')
    .addColumn('package_id', 'varchar(8)', (c) =>
      c.notNull().references('package.package_id').onDelete('cascade'),
    )
    .addColumn('dp_id', 'integer', (c) =>
      c.notNull().references('distribution_point.dp_id').onDelete('cascade'),
    )
    .addColumn('state', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('target_version', 'integer', (c) => c.notNull())
    .addColumn('installed_version', 'integer', (c) => c.notNull())
    .addColumn('bytes_total', 'bigint', (c) => c.notNull())
    .addColumn('bytes_done', 'bigint', (c) => c.notNull())
    .addColumn('bytes_sent', 'bigint', (c) => c.notNull())
    .addColumn('rate', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('last_copied', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('package_dp_pk', ['package_id', 'dp_id'])
    .execute();

  await db.schema
    .createTable('status_message')
    .addColumn('id', 'integer', autoIncrementId(db))
    .addColumn('package_id', 'varchar(8)', (c) => c.notNull())
    .addColumn('dp_id', 'integer')
    .addColumn('message_id', 'integer', (c) => c.notNull())
    .addColumn('message_state', 'integer', (c) => c.notNull())
    .addColumn('severity', 'bigint', (c) => c.notNull())
    .addColumn('insertion_strings', 'text', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('status_message_pkg')
    .on('status_message')
    .columns(['package_id', 'time'])
    .execute();

  await db.schema
    .createTable('job')
    .addColumn('id', 'integer', autoIncrementId(db))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('package_id', 'varchar(8)')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_claim').on('job').columns(['state', 'priority', 'run_at']).execute();
  // At most one queued job per key: enqueue coalesces on this.
  await sql`CREATE UNIQUE INDEX job_queued_key ON job (key) WHERE state = 'queued'`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'job',
    'status_message',
    'package_dp',
    'distribution_point',
    'package_version',
    'package',
    'counter',
    'site',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
