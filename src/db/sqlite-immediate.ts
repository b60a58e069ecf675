import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Kysely,
  type SqliteDialectConfig,
} from 'kysely';

/**
 * SQLite's default BEGIN is deferred: a transaction takes the write lock only at its first write. Two
 * processes (a `sitecast server` and a CLI command) that both read and then write deadlock on the upgrade,
 * and SQLite answers SQLITE_BUSY at once instead of waiting out busy_timeout. BEGIN IMMEDIATE takes the
 * write lock up front, so the second writer simply waits its turn.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** Kysely's SQLite dialect with write transactions that start with BEGIN IMMEDIATE. */
export function immediateSqliteDialect(config: SqliteDialectConfig): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new ImmediateSqliteDriver(config),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db: Kysely<unknown>) => new SqliteIntrospector(db),
  };
}
