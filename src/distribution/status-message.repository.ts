import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/index.js';

type Db = Kysely<Database> | Transaction<Database>;

/** `SMS_DistributionDPStatus`-like status message. */
export interface StatusMessage {
  readonly id: number;
  readonly packageId: string;
  readonly dpId: number | null;
  readonly messageId: number;
  readonly messageState: number;
  readonly severity: number;
  readonly insertionStrings: readonly string[];
  readonly time: number;
}

const stringsSchema = z.array(z.string());

export class StatusMessageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(m: Omit<StatusMessage, 'id'>, trx: Db = this.db): Promise<void> {
    await trx
      .insertInto('status_message')
      .values({
        package_id: m.packageId,
        dp_id: m.dpId,
        message_id: m.messageId,
        message_state: m.messageState,
        severity: m.severity,
        insertion_strings: JSON.stringify(m.insertionStrings),
        time: m.time,
      })
      .execute();
  }

  async list(filter: { packageId?: string; dpId?: number; limit?: number } = {}): Promise<StatusMessage[]> {
    let q = this.db
      .selectFrom('status_message')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 200);
    if (filter.packageId !== undefined) q = q.where('package_id', '=', filter.packageId);
    if (filter.dpId !== undefined) q = q.where('dp_id', '=', filter.dpId);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      packageId: r.package_id,
      dpId: r.dp_id,
      messageId: r.message_id,
      messageState: r.message_state,
      severity: r.severity,
      insertionStrings: stringsSchema.parse(JSON.parse(r.insertion_strings)),
      time: r.time,
    }));
  }
}
