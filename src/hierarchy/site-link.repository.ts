import type { Kysely, Selectable, Transaction } from 'kysely';
import {
  formatAvailability,
  formatRateLimit,
  parseAvailability,
  parseRateLimit,
} from '../bandwidth/index.js';
import type { DpBandwidth } from '../distribution/index.js';
import type { Database, SiteLinkTable, SiteParentTable } from '../db/index.js';

type Db = Kysely<Database> | Transaction<Database>;

export const LinkState = { Active: 'active', Unreachable: 'unreachable' } as const;
export type LinkStateName = (typeof LinkState)[keyof typeof LinkState];

/** A child site as this (parent) site knows it: `SMS_Site` of a child. */
export interface ChildLink {
  readonly siteCode: string;
  readonly role: 'primary' | 'secondary';
  readonly url: string;
  readonly secret: string;
  readonly version: string;
  readonly state: LinkStateName;
  readonly lastContact: number | null;
  readonly lastError: string | null;
  readonly bytesSent: number;
  readonly joinedAt: number;
  /** How content sent down this link is paced (a WAN link to a branch region). */
  readonly bandwidth: DpBandwidth;
}

/** This site's link to its parent. */
export interface ParentLink {
  readonly siteCode: string;
  readonly role: string;
  readonly url: string;
  readonly secret: string;
  readonly state: LinkStateName;
  readonly lastContact: number | null;
  readonly lastError: string | null;
  readonly joinedAt: number;
}

function toChild(r: Selectable<SiteLinkTable>): ChildLink {
  return {
    siteCode: r.site_code,
    role: r.role === 'secondary' ? 'secondary' : 'primary',
    url: r.url,
    secret: r.secret,
    version: r.version,
    state: r.state === LinkState.Unreachable ? LinkState.Unreachable : LinkState.Active,
    lastContact: r.last_contact === null ? null : Number(r.last_contact),
    lastError: r.last_error,
    bytesSent: Number(r.bytes_sent),
    joinedAt: Number(r.joined_at),
    bandwidth: {
      rateLimit: parseRateLimit(r.rate_limit),
      availability: parseAvailability(r.availability),
      timeZone: r.time_zone,
    },
  };
}

function toParent(r: SiteParentTable): ParentLink {
  return {
    siteCode: r.site_code,
    role: r.role,
    url: r.url,
    secret: r.secret,
    state: r.state === LinkState.Unreachable ? LinkState.Unreachable : LinkState.Active,
    lastContact: r.last_contact === null ? null : Number(r.last_contact),
    lastError: r.last_error,
    joinedAt: Number(r.joined_at),
  };
}

/** `site_link` (this site's children) and `site_parent` (its one parent). */
export class SiteLinkRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async listChildren(trx: Db = this.db): Promise<ChildLink[]> {
    const rows = await trx.selectFrom('site_link').selectAll().orderBy('site_code').execute();
    return rows.map(toChild);
  }

  async setChildBandwidth(siteCode: string, b: DpBandwidth): Promise<void> {
    await this.db
      .updateTable('site_link')
      .set({
        rate_limit: formatRateLimit(b.rateLimit),
        availability: formatAvailability(b.availability),
        time_zone: b.timeZone,
      })
      .where('site_code', '=', siteCode)
      .execute();
  }

  async findChild(siteCode: string, trx: Db = this.db): Promise<ChildLink | undefined> {
    const row = await trx
      .selectFrom('site_link')
      .selectAll()
      .where('site_code', '=', siteCode)
      .executeTakeFirst();
    return row ? toChild(row) : undefined;
  }

  /** Records a child (a re-join replaces its URL, role and secret: the old secret stops working). */
  async upsertChild(
    c: Pick<ChildLink, 'siteCode' | 'role' | 'url' | 'secret' | 'version'>,
    now: number,
  ): Promise<void> {
    await this.db
      .insertInto('site_link')
      .values({
        site_code: c.siteCode,
        role: c.role,
        url: c.url,
        secret: c.secret,
        version: c.version,
        state: LinkState.Active,
        last_contact: now,
        last_error: null,
        joined_at: now,
      })
      .onConflict((oc) =>
        oc.column('site_code').doUpdateSet({
          role: c.role,
          url: c.url,
          secret: c.secret,
          version: c.version,
          state: LinkState.Active,
          last_contact: now,
          last_error: null,
        }),
      )
      .execute();
  }

  /** A call to or from the child worked: it is reachable. Returns the state it had before. */
  async childContact(siteCode: string, now: number, version?: string): Promise<LinkStateName | undefined> {
    const before = await this.findChild(siteCode);
    await this.db
      .updateTable('site_link')
      .set({
        state: LinkState.Active,
        last_contact: now,
        last_error: null,
        ...(version !== undefined && { version }),
      })
      .where('site_code', '=', siteCode)
      .execute();
    return before?.state;
  }

  async childUnreachable(siteCode: string, error: string): Promise<void> {
    await this.db
      .updateTable('site_link')
      .set({ state: LinkState.Unreachable, last_error: error })
      .where('site_code', '=', siteCode)
      .execute();
  }

  async addBytesSent(siteCode: string, bytes: number): Promise<void> {
    if (bytes === 0) return;
    await this.db
      .updateTable('site_link')
      .set((eb) => ({ bytes_sent: eb('bytes_sent', '+', bytes) }))
      .where('site_code', '=', siteCode)
      .execute();
  }

  async parent(trx: Db = this.db): Promise<ParentLink | undefined> {
    const row = await trx.selectFrom('site_parent').selectAll().where('id', '=', 1).executeTakeFirst();
    return row ? toParent(row) : undefined;
  }

  async setParent(p: Pick<ParentLink, 'siteCode' | 'role' | 'url' | 'secret'>, now: number): Promise<void> {
    const values = {
      site_code: p.siteCode,
      role: p.role,
      url: p.url,
      secret: p.secret,
      state: LinkState.Active,
      last_contact: now,
      last_error: null,
    };
    await this.db
      .insertInto('site_parent')
      .values({ id: 1, ...values, joined_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  }

  async parentContact(now: number, error: string | null): Promise<void> {
    await this.db
      .updateTable('site_parent')
      .set(
        error === null
          ? { state: LinkState.Active, last_contact: now, last_error: null }
          : { state: LinkState.Unreachable, last_error: error },
      )
      .where('id', '=', 1)
      .execute();
  }
}
