/**
 * A database's change stamp: a short text that is equal at two moments only if no data visible to this
 * process's reads changed in between. Readers use it to keep query results until the data changes
 * (src/api's read cache): equal stamps mean the same query gives the same answer. It may change without a
 * change to the data (that only costs a cache miss), never the other way round.
 *
 * - SQLite: `total_changes()` counts every row this connection inserted, updated or deleted, and
 *   `data_version` moves whenever another connection (a CLI command, another process) commits. Read through
 *   Kysely, so never in the middle of one of this process's transactions.
 * - PostgreSQL: the current snapshot (`xmin:xmax:in-progress xids`). Visibility depends on nothing else, so
 *   equal snapshots see the same rows; any commit anywhere in the cluster moves it.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export type ChangeStamp = () => Promise<string>;

const sqliteStamp = CompiledQuery.raw(
  `select total_changes() || ':' || (select data_version from pragma_data_version) as stamp`,
);
const postgresStamp = CompiledQuery.raw(`select pg_current_snapshot()::text as stamp`);

export function changeStampOf(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): ChangeStamp {
  const query = dialect === 'sqlite' ? sqliteStamp : postgresStamp;
  return async () => {
    const { rows } = await db.executeQuery<{ stamp?: unknown }>(query);
    const stamp = rows[0]?.stamp;
    if (typeof stamp !== 'string') throw new Error(`the ${dialect} change stamp query returned no text`);
    return stamp;
  };
}
