import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import type { DistPointStatus, RemoteStatusPort } from '../distribution/index.js';
import { dpStatusRow, type StatusReport } from './site-wire.js';

/** A descendant site as its branch reported it (for `site tree`). */
export interface ReportedSiteRow {
  readonly siteCode: string;
  readonly parentCode: string;
  readonly role: string;
  readonly viaChild: string;
  readonly updatedAt: number;
}

/** Rows inserted per statement (SQLite's bound-parameter limit). */
const insertBatch = 400;

/**
 * What children reported about their branches. Each report replaces everything earlier reports of the
 * same child said (one transaction), so a DP removed down there disappears up here too.
 */
export class SiteReportRepository implements RemoteStatusPort {
  constructor(private readonly db: Kysely<Database>) {}

  async replaceBranch(report: StatusReport, now: number): Promise<void> {
    const via = report.siteCode;
    await this.db.transaction().execute(async (trx) => {
      for (const table of ['site_report_dp', 'site_report_package', 'site_report_site'] as const)
        await trx.deleteFrom(table).where('via_child', '=', via).execute();
      const sites = report.sites.map((s) => ({
        site_code: s.siteCode,
        via_child: via,
        parent_code: s.parentCode,
        role: s.role,
        updated_at: now,
      }));
      const packages = report.sites.flatMap((s) =>
        s.packages.map((p) => ({
          site_code: s.siteCode,
          package_id: p.packageId,
          via_child: via,
          source_version: p.sourceVersion,
          updated_at: now,
        })),
      );
      const dps = report.dps.map((r) => ({
        site_code: r.SiteCode,
        package_id: r.PackageID,
        nal_path: r.ServerNALPath,
        via_child: via,
        data: JSON.stringify(r),
        updated_at: now,
      }));
      for (let i = 0; i < sites.length; i += insertBatch)
        await trx
          .insertInto('site_report_site')
          .values(sites.slice(i, i + insertBatch))
          .onConflict((oc) => oc.column('site_code').doNothing())
          .execute();
      for (let i = 0; i < packages.length; i += insertBatch)
        await trx
          .insertInto('site_report_package')
          .values(packages.slice(i, i + insertBatch))
          .onConflict((oc) => oc.columns(['site_code', 'package_id']).doNothing())
          .execute();
      for (let i = 0; i < dps.length; i += insertBatch)
        await trx
          .insertInto('site_report_dp')
          .values(dps.slice(i, i + insertBatch))
          .onConflict((oc) => oc.columns(['site_code', 'package_id', 'nal_path']).doNothing())
          .execute();
    });
  }

  /** Forgets a child's branch (the child left). */
  async dropBranch(viaChild: string): Promise<void> {
    for (const table of ['site_report_dp', 'site_report_package', 'site_report_site'] as const)
      await this.db.deleteFrom(table).where('via_child', '=', viaChild).execute();
  }

  async dpRows(packageId: string): Promise<DistPointStatus[]> {
    const rows = await this.db
      .selectFrom('site_report_dp')
      .select('data')
      .where('package_id', '=', packageId)
      .orderBy('site_code')
      .orderBy('nal_path')
      .execute();
    return rows.flatMap((r) => {
      const parsed = dpStatusRow.safeParse(safeJson(r.data));
      return parsed.success ? [parsed.data] : [];
    });
  }

  async siteVersions(packageId: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('site_report_package')
      .select(['site_code', 'source_version'])
      .where('package_id', '=', packageId)
      .execute();
    return new Map(rows.map((r) => [r.site_code, Number(r.source_version)]));
  }

  /** Every descendant site reported so far. */
  async sites(): Promise<ReportedSiteRow[]> {
    const rows = await this.db.selectFrom('site_report_site').selectAll().orderBy('site_code').execute();
    return rows.map((r) => ({
      siteCode: r.site_code,
      parentCode: r.parent_code,
      role: r.role,
      viaChild: r.via_child,
      updatedAt: Number(r.updated_at),
    }));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
