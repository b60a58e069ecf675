/**
 * How strings compare, identically on SQLite and PostgreSQL. WMI/AdminService string comparisons ignore
 * case, so both sides are folded to lower case — ASCII letters only, because that is all SQLite's lower()
 * folds. PostgreSQL's lower() folds by the database locale (É → é under C.UTF-8), so it runs under the "C"
 * collation, where it too folds only A–Z, and orders byte-wise like SQLite's BINARY.
 */
import { sql, type Expression, type RawBuilder } from 'kysely';

export type ODataDialect = 'sqlite' | 'postgres';

export interface SqlStringRules {
  /** The column folded for comparing: compare it with a value passed through foldValue. */
  fold(column: Expression<unknown>): RawBuilder<string>;
  /** The column under byte-wise ordering, to break ties between values that differ only in case. */
  binary(column: Expression<unknown>): RawBuilder<string>;
}

export const sqlStringRules: Readonly<Record<ODataDialect, SqlStringRules>> = {
  sqlite: {
    fold: (c) => sql<string>`lower(${c})`,
    binary: (c) => sql<string>`${c}`,
  },
  postgres: {
    fold: (c) => sql<string>`lower(${c} collate "C")`,
    binary: (c) => sql<string>`(${c} collate "C")`,
  },
};

/** The JavaScript side of fold: ASCII letters only, like the SQL side. */
export function foldValue(value: string): string {
  return value.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The escape character of every LIKE pattern we build (spelled out in each ESCAPE clause). */
export const likeEscape = '\\';

/** A LIKE pattern matching `value` literally: %, _ and the escape character itself are escaped. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => likeEscape + c);
}
