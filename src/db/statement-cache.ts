/**
 * Kysely's SQLite driver prepares every query anew; under API load preparing (parsing and planning the
 * SQL) cost more than running it. This keeps the most recently used prepared statements by SQL text. Safe
 * to share: Kysely runs one query at a time on the connection (a stream holds it until it ends), and
 * SQLite re-prepares a cached statement itself when a migration changes the schema.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Distinct SQL texts kept; the API's queries vary by class and filter shape, values are parameters. */
const defaultCapacity = 500;

export function cachingStatements(
  native: BetterSqlite3.Database,
  capacity = defaultCapacity,
): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql: string) {
      let stmt = statements.get(sql);
      if (stmt) {
        // Least recently used first: move this one to the end.
        statements.delete(sql);
      } else {
        stmt = native.prepare(sql);
        if (statements.size >= capacity) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, stmt);
      return stmt;
    },
    close() {
      statements.clear();
      native.close();
    },
  };
}
