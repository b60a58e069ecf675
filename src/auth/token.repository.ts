import type { Kysely, Selectable } from 'kysely';
import type { ApiTokenTable, Database } from '../db/index.js';
import { SitecastError } from '../kernel/index.js';
import { isRoleName, type RoleName } from './roles.js';

/** A token as stored: everything but the secret. */
export interface TokenRecord {
  readonly id: number;
  readonly name: string;
  readonly role: RoleName;
  readonly prefix: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export interface NewToken {
  readonly name: string;
  readonly role: RoleName;
  readonly tokenHash: string;
  readonly prefix: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

/** The `api_token` table. The hash never leaves this file except as a lookup key coming in. */
export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts the token; undefined when the name (case-insensitively) is taken. */
  async insert(token: NewToken): Promise<TokenRecord | undefined> {
    const row = await this.db
      .insertInto('api_token')
      .values({
        name: token.name,
        name_key: token.name.toLowerCase(),
        role: token.role,
        token_hash: token.tokenHash,
        prefix: token.prefix,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
      })
      // Two creates racing for one name: the unique index decides, without a read-then-write window.
      .onConflict((oc) => oc.column('name_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /**
   * The token whose secret hashes to `tokenHash`. An index lookup on a SHA-256 needs no constant-time
   * compare: timing can only reveal how much of a hash of the caller's own guess matched, and finding a
   * secret from its hash prefix is a preimage search over 256 bits.
   */
  async findByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const row = await this.db
      .selectFrom('api_token')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async findById(id: number): Promise<TokenRecord | undefined> {
    const row = await this.db.selectFrom('api_token').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** By name, case-insensitively. */
  async findByName(name: string): Promise<TokenRecord | undefined> {
    const row = await this.db
      .selectFrom('api_token')
      .selectAll()
      .where('name_key', '=', name.toLowerCase())
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async list(): Promise<TokenRecord[]> {
    const rows = await this.db.selectFrom('api_token').selectAll().orderBy('id').execute();
    return rows.map(toRecord);
  }

  /** Sets revoked_at once; a second revoke keeps the first time. */
  async revoke(id: number, now: number): Promise<void> {
    await this.db
      .updateTable('api_token')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /**
   * Records a use when the last one is older than `minIntervalMs`: one write a minute per token at most,
   * however many requests it makes, and concurrent requests race to a single write.
   */
  async touch(id: number, now: number, minIntervalMs: number): Promise<void> {
    await this.db
      .updateTable('api_token')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', now - minIntervalMs)]))
      .execute();
  }
}

function toRecord(row: Selectable<ApiTokenTable>): TokenRecord {
  if (!isRoleName(row.role)) {
    throw new SitecastError(
      'CORRUPT_DATA',
      `API token ${row.id} has an unknown role ${JSON.stringify(row.role)}`,
      {
        field: 'role',
        tokenId: row.id,
      },
    );
  }
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
