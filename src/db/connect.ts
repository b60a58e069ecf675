import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { SitecastError } from '../kernel/index.js';
import { changeStampOf, type ChangeStamp } from './change-stamp.js';
import { migrations } from './migrations/index.js';
import { immediateSqliteDialect } from './sqlite-immediate.js';
import { cachingStatements } from './statement-cache.js';
import type { Database } from './schema.js';

/** What a dialect can do, as flags rather than `if (kind === …)` spread through repositories. */
export interface DialectCapabilities {
  readonly name: 'sqlite' | 'postgres';
  /** `SELECT … FOR UPDATE SKIP LOCKED` for claiming jobs across processes. */
  readonly skipLocked: boolean;
}

export interface SiteDatabase {
  readonly db: Kysely<Database>;
  readonly capabilities: DialectCapabilities;
  /** Where it lives, for people: a file path or a URL without password. */
  readonly location: string;
  /** Equal at two moments only if no data this process can read changed in between (change-stamp.ts). */
  readonly changeStamp: ChangeStamp;
  close(): Promise<void>;
}

/**
 * Opens the site database: a PostgreSQL URL (`postgres://…`) or a SQLite file path (WAL mode), and brings
 * its schema up to date.
 */
export async function openDatabase(location: string): Promise<SiteDatabase> {
  const site = /^postgres(ql)?:\/\//.test(location) ? openPostgres(location) : openSqlite(location);
  try {
    await migrateToLatest(site.db);
  } catch (e) {
    await site.close();
    throw e;
  }
  return site;
}

function openSqlite(file: string): SiteDatabase {
  if (file.trim() === '')
    throw new SitecastError('INVALID_PARAMETER', 'database path is empty', { field: 'db' });
  let native: BetterSqlite3.Database;
  try {
    native = new BetterSqlite3(file);
  } catch (e) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `cannot open SQLite database ${file}: ${(e as Error).message}`,
      {
        field: 'db',
        path: file,
      },
    );
  }
  native.pragma('journal_mode = WAL');
  native.pragma('synchronous = NORMAL');
  native.pragma('foreign_keys = ON');
  native.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({
    dialect: immediateSqliteDialect({ database: cachingStatements(native) }),
  });
  return {
    db,
    capabilities: { name: 'sqlite', skipLocked: false },
    location: file,
    changeStamp: changeStampOf(db, 'sqlite'),
    close: () => db.destroy(),
  };
}

// pg returns int8 (bigint) as strings by default; our bigints are epoch ms and byte counts, well within 2^53.
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text') =>
    oid === 20
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

function openPostgres(url: string): SiteDatabase {
  const pool = new pg.Pool({ connectionString: url, max: 10, types: pgTypes });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    capabilities: { name: 'postgres', skipLocked: true },
    location: redact(url),
    changeStamp: changeStampOf(db, 'postgres'),
    close: () => db.destroy(),
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new SitecastError('FAILED', `database migration ${failed} failed: ${(error as Error).message}`, {
      migration: failed,
    });
  }
}
