import type { Insertable, Kysely } from 'kysely';
import type { AuditLogTable, Database } from '../db/index.js';

export type AuditAction = 'create' | 'update' | 'delete' | 'method';

/** One change made through the API, as listed. */
export interface AuditEntry {
  readonly id: number;
  readonly time: number;
  /** Null when nobody was authenticated. */
  readonly principalName: string | null;
  readonly tokenId: number | null;
  readonly action: AuditAction;
  readonly className: string;
  /** The instance key (`SMS_Package('PS100001')` → `PS100001`), null for static methods and creates that failed. */
  readonly target: string | null;
  readonly method: string | null;
  /** ReturnValue or HRESULT as an unsigned 32-bit number: 0 is success. */
  readonly result: number;
  readonly detail: string | null;
  readonly remoteAddress: string | null;
}

export interface AuditQuery {
  /** Epoch ms: entries at or after it. */
  readonly since?: number;
  readonly limit: number;
  /** Principal name, case-insensitively. */
  readonly principal?: string;
}

/** The `audit_log` table. Rows are only ever added. */
export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    const row: Insertable<AuditLogTable> = {
      time: entry.time,
      principal_name: entry.principalName,
      token_id: entry.tokenId,
      action: entry.action,
      class_name: entry.className,
      target: entry.target,
      method: entry.method,
      result: entry.result,
      detail: entry.detail,
      remote_address: entry.remoteAddress,
    };
    await this.db.insertInto('audit_log').values(row).execute();
  }

  /** Newest first; entries of one millisecond in the order they were recorded, newest first too. */
  async list(query: AuditQuery): Promise<AuditEntry[]> {
    let q = this.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('time', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit);
    if (query.since !== undefined) q = q.where('time', '>=', query.since);
    if (query.principal !== undefined) {
      // Both sides through the database's lower(), so they fold alike whatever the dialect does past ASCII.
      const name = query.principal;
      q = q.where((eb) => eb(eb.fn('lower', ['principal_name']), '=', eb.fn('lower', [eb.val(name)])));
    }
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      time: r.time,
      principalName: r.principal_name,
      tokenId: r.token_id,
      // Written only through insert(), whose type allows nothing else.
      action: r.action as AuditAction,
      className: r.class_name,
      target: r.target,
      method: r.method,
      result: r.result,
      detail: r.detail,
      remoteAddress: r.remote_address,
    }));
  }
}
