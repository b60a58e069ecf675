import type { Kysely } from 'kysely';
import { autoIncrementId } from '../dialect-helpers.js';

/**
 * API bearer tokens (stored as SHA-256 of the secret, never the secret) with their Configuration Manager
 * style role, and the audit log of every change made through the API.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_token')
    .addColumn('id', 'integer', autoIncrementId(db))
    .addColumn('name', 'text', (c) => c.notNull())
    // Lower-cased name: names are unique case-insensitively, the same way on both dialects.
    .addColumn('name_key', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    // Hex SHA-256 of the whole token; the lookup key of every authenticated request.
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();

  // No foreign key to api_token: the log is history and keeps the name even if a token row goes.
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'integer', autoIncrementId(db))
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('principal_name', 'text')
    .addColumn('token_id', 'integer')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('class_name', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('method', 'text')
    // ReturnValue or HRESULT as an unsigned 32-bit number (0x80041003 does not fit a signed integer).
    .addColumn('result', 'bigint', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('remote_address', 'text')
    .execute();
  await db.schema.createIndex('audit_log_time').on('audit_log').columns(['time', 'id']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('api_token').execute();
}
