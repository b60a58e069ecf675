import { SqliteAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

/** True when `db` talks to SQLite (the only other dialect is PostgreSQL). */
export function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/** An integer primary key the database numbers itself, never reusing a value. */
export function autoIncrementId(db: Kysely<unknown>) {
  return (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
    isSqlite(db) ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity();
}
