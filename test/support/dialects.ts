/**
 * `forEachDialect('x', (ctx) => { … })` runs a describe block once on SQLite and once on PostgreSQL, each
 * with a fresh database per test file (ctx.db is set in beforeAll). PostgreSQL missing: skipped with the
 * reason printed, or a failure under CI=true.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import {
  createTestDatabase,
  dialects,
  postgresUnavailableReason,
  type DialectName,
  type TestDatabase,
} from './databases.js';

export interface DialectContext {
  readonly dialect: DialectName;
  /** Set before the block's tests run. */
  database: TestDatabase;
}

const pgReason = await postgresUnavailableReason();
if (pgReason && process.env.CI === 'true') {
  throw new Error(`CI=true and ${pgReason}: PostgreSQL tests cannot be skipped in CI`);
}

export function forEachDialect(name: string, body: (ctx: DialectContext) => void): void {
  for (const dialect of dialects) {
    const skip = dialect === 'postgres' && pgReason !== null;
    if (skip) console.warn(`skipping ${name} [postgres]: ${pgReason}`);
    (skip ? describe.skip : describe)(`${name} [${dialect}]`, () => {
      const ctx = { dialect } as DialectContext;
      beforeAll(async () => {
        ctx.database = await createTestDatabase(dialect);
      });
      afterAll(async () => {
        await ctx.database?.drop();
      });
      body(ctx);
    });
  }
}

/** Like forEachDialect, without creating a database: for fixtures that open their own (e.g. a whole site). */
export function eachDialect(name: string, body: (dialect: DialectName) => void): void {
  for (const dialect of dialects) {
    const skip = dialect === 'postgres' && pgReason !== null;
    if (skip) console.warn(`skipping ${name} [postgres]: ${pgReason}`);
    (skip ? describe.skip : describe)(`${name} [${dialect}]`, () => body(dialect));
  }
}
