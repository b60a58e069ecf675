/**
 * Test support: every repository test runs on both dialects. SQLite gets a fresh file in a temp dir;
 * PostgreSQL gets a fresh database on the server at SITECAST_TEST_PG (default 127.0.0.1:5432), dropped
 * afterwards. Without a reachable PostgreSQL the postgres run is skipped with a reason — except under
 * CI=true, where a missing PostgreSQL is a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type SiteDatabase } from '../../src/db/index.js';

export const dialects = ['sqlite', 'postgres'] as const;
export type DialectName = (typeof dialects)[number];

const adminUrl = process.env.SITECAST_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let pgAvailable: Promise<string | null> | undefined;

/** Null when PostgreSQL is reachable, else the reason it is not. */
export function postgresUnavailableReason(): Promise<string | null> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return null;
    } catch (e) {
      return `PostgreSQL not reachable at ${adminUrl}: ${(e as Error).message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgAvailable;
}

export interface TestDatabase extends SiteDatabase {
  /** The connection string or file path, for child processes. */
  readonly url: string;
  /** Closes and deletes the database. */
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'sitecast-db-'));
    const file = join(dir, 'site.db');
    const site = await openDatabase(file);
    return {
      ...site,
      url: file,
      drop: async () => {
        await site.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `sitecast_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const site = await openDatabase(url);
  return {
    ...site,
    url,
    drop: async () => {
      await site.close();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
