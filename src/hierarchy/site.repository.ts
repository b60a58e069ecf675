import type { Kysely } from 'kysely';
import type { Database, SiteTable } from '../db/index.js';
import { SitecastError, type Clock } from '../kernel/index.js';

export type SiteRole = 'cas' | 'primary' | 'secondary';

export interface Site {
  readonly siteCode: string;
  readonly name: string;
  readonly role: SiteRole;
  readonly parentUrl: string | null;
  readonly createdAt: number;
}

const siteCodePattern = /^[A-Z0-9]{3}$/;

/** Checks a Configuration Manager site code: three letters or digits, upper case. */
export function assertSiteCode(code: string, field = 'SiteCode'): void {
  if (!siteCodePattern.test(code)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${field} ${JSON.stringify(code)} must be 3 upper-case letters or digits (e.g. PS1)`,
      { field },
    );
  }
}

function toSite(r: SiteTable): Site {
  return {
    siteCode: r.site_code,
    name: r.name,
    role: r.role as SiteRole,
    parentUrl: r.parent_url,
    createdAt: r.created_at,
  };
}

export class SiteRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  /** The local site: the one row of `site` without a parent link to it… for now the first row. */
  async local(): Promise<Site | undefined> {
    const row = await this.db
      .selectFrom('site')
      .selectAll()
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst();
    return row ? toSite(row) : undefined;
  }

  /** Records the local site's role in the hierarchy and its parent's URL (null: none). */
  async setRole(role: SiteRole, parentUrl: string | null): Promise<void> {
    const local = await this.local();
    if (!local)
      throw new SitecastError('NOT_FOUND', 'this database has no local site yet', { field: 'SiteCode' });
    await this.db
      .updateTable('site')
      .set({ role, parent_url: parentUrl })
      .where('site_code', '=', local.siteCode)
      .execute();
  }

  /**
   * Returns the local site, creating it with `siteCode` on first use. A database already initialised for
   * another site code is an error: one database belongs to one site.
   */
  async ensureLocal(siteCode: string, name = `Site ${siteCode}`): Promise<Site> {
    assertSiteCode(siteCode);
    const existing = await this.local();
    if (existing) {
      if (existing.siteCode !== siteCode) {
        throw new SitecastError(
          'INVALID_PARAMETER',
          `this database belongs to site ${existing.siteCode}, not ${siteCode}`,
          { field: 'SiteCode', siteCode: existing.siteCode },
        );
      }
      return existing;
    }
    await this.db
      .insertInto('site')
      .values({ site_code: siteCode, name, role: 'primary', parent_url: null, created_at: this.clock.now() })
      .onConflict((oc) => oc.column('site_code').doNothing())
      .execute();
    return (await this.local())!;
  }
}
