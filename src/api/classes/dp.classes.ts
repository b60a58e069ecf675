/**
 * SMS_DistributionPointInfo (one row per DP) and SMS_DistributionPoint (one package targeted to one DP),
 * reference §3. Creating an SMS_DistributionPoint row targets the package; deleting it removes the content.
 */
import { sql } from 'kysely';
import type { DpConfig } from '../../distribution/index.js';
import { SitecastError } from '../../kernel/index.js';
import { checkWritable, keyString, recordFromRow, requireString, type ApiClass } from '../class-model.js';
import { packageDpOrder, packageDpOrderColumn, viewOf, viewProperties } from './view.js';

/** The DP's health as the site's health monitor last saw it, on both DP classes. */
const healthProperties = {
  HealthState: {
    type: 'string',
    description: "'online', 'degraded' (answers, but low space or failing transfers), 'offline' or 'unknown'",
  },
  LastContactTime: { type: 'datetime', description: 'when the DP last answered (a probe or a transfer)' },
} as const;
const healthColumns = [
  sql<string>`coalesce(d.health_state, 'unknown')`.as('HealthState'),
  'd.health_contact_at as LastContactTime',
] as const;

export const smsDistributionPointInfoClass: ApiClass = {
  name: 'SMS_DistributionPointInfo',
  description: 'one distribution point: a folder on the site server (Path) or a DP agent (Url)',
  key: ['NALPath'],
  properties: viewProperties({
    NALPath: { type: 'string', description: "the DP's network abstraction layer path" },
    Name: { type: 'string', access: 'create', description: 'server-style name, e.g. DP01' },
    ServerName: { type: 'string' },
    SiteCode: { type: 'string' },
    Kind: { type: 'string', description: "'local' (a folder) or 'http' (a DP agent)" },
    Path: {
      type: 'string',
      access: 'create',
      filterable: false,
      description: 'local DPs: the absolute folder',
    },
    Url: {
      type: 'string',
      access: 'create',
      filterable: false,
      description: 'remote DPs: the agent URL (Secret goes with it)',
    },
    IsPullDP: { type: 'bool' },
    Priority: { type: 'uint32', access: 'create' },
    MaintenanceMode: { type: 'bool', access: 'rw', description: 'a DP in maintenance takes no new content' },
    RateLimitsEnabled: { type: 'bool' },
    RateLimit: { type: 'string', access: 'rw', description: "'unlimited', '4MB/s', 'pulse:…', 'hourly:…'" },
    Availability: {
      type: 'string',
      access: 'rw',
      description: '168 digits, Sunday 00:00 first: 0 all, 1 medium and high, 2 high only, 3 closed',
    },
    TimeZone: {
      type: 'string',
      access: 'rw',
      description: 'IANA zone of the availability window; null: the site server',
    },
    ValidationSchedule: {
      type: 'string',
      access: 'rw',
      description: 'content validation schedule string; null: none',
    },
    ValidationRepair: {
      type: 'bool',
      access: 'rw',
      description: 'repair what a scheduled validation finds bad',
    },
    PullSources: {
      type: 'object[]',
      filterable: false,
      description: 'pull DPs: ranked sources [{dp, rank}] (dp "site" is the site itself)',
    },
    SiteUrl: {
      type: 'string',
      filterable: false,
      description: "pull DPs: where the DP reaches the site's chunks",
    },
    PreStagingAllowed: { type: 'bool' },
    TransferRate: { type: 'int64', description: 'bytes/s being sent to the DP now' },
    CreatedTime: { type: 'datetime' },
    ...healthProperties,
    LastHealthError: {
      type: 'string',
      filterable: false,
      description: 'why it was last degraded or offline (kept after it recovers)',
    },
    LastHealthCheckTime: { type: 'datetime', description: 'when the health monitor last probed it' },
    FreeBytes: { type: 'int64', description: "free bytes on the DP's volume at its last answer" },
  }),
  // By DP id (its primary key): listing thousands of DPs sorts nothing.
  defaultOrder: ['v._dp_id'],
  packedRows: true,
  base: (site) =>
    viewOf(
      site,
      site.database.db.selectFrom('distribution_point as d').select([
        'd.dp_id as _dp_id',
        'd.nal_path as NALPath',
        'd.name as Name',
        'd.server_name as ServerName',
        'd.site_code as SiteCode',
        'd.kind as Kind',
        // Path and Url come out of the JSON config in toRecord (the secret never leaves it).
        'd.config as Path',
        'd.config as Url',
        'd.is_pull as IsPullDP',
        'd.priority as Priority',
        'd.maintenance_mode as MaintenanceMode',
        sql<number>`case when d.rate_limit = 'unlimited' then 0 else 1 end`.as('RateLimitsEnabled'),
        'd.rate_limit as RateLimit',
        'd.availability as Availability',
        'd.time_zone as TimeZone',
        'd.validation_schedule as ValidationSchedule',
        'd.validation_repair as ValidationRepair',
        'd.config as PullSources',
        'd.config as SiteUrl',
        sql<number>`0`.as('PreStagingAllowed'),
        sql<number>`coalesce((select sum(pd.rate) from package_dp pd where pd.dp_id = d.dp_id), 0)`.as(
          'TransferRate',
        ),
        'd.created_at as CreatedTime',
        ...healthColumns,
        'd.health_error as LastHealthError',
        'd.health_checked_at as LastHealthCheckTime',
        'd.health_free_bytes as FreeBytes',
      ]),
    ),
  toRecord(row) {
    const r = recordFromRow(smsDistributionPointInfoClass, row);
    // The repository validated the config when it was written; a broken one shows as nulls here.
    const config = JSON.parse(String(row.Path)) as Partial<DpConfig>;
    r.Path = config.kind === 'local' ? config.root : null;
    r.Url = config.kind === 'http' ? config.url : null;
    const pull = config.kind === 'http' && r.IsPullDP === true;
    r.PullSources = pull ? (config.sources ?? [{ dp: 'site', rank: 1 }]) : [];
    r.SiteUrl = pull ? (config.siteUrl ?? null) : null;
    return r;
  },
  async create(ctx, body) {
    checkWritable(smsDistributionPointInfoClass, body, 'create', ['Secret', 'AllowOffline']);
    const name = requireString(body, 'Name');
    const priority = body.Priority === undefined ? undefined : Number(body.Priority);
    if (typeof body.Path === 'string') {
      const dp = await ctx.site.dps.addLocal({ name, root: body.Path, ...(priority && { priority }) });
      return { key: { NALPath: dp.nalPath } };
    }
    if (typeof body.Url === 'string') {
      const { dp } = await ctx.site.dps.addHttp({
        name,
        url: body.Url,
        secret: requireString(body, 'Secret'),
        ...(priority && { priority }),
        allowOffline: body.AllowOffline === true,
      });
      return { key: { NALPath: dp.nalPath } };
    }
    throw new SitecastError(
      'INVALID_PARAMETER',
      'a distribution point needs Path (a local folder) or Url and Secret',
      {
        field: 'Path',
      },
    );
  },
  async update(ctx, key, body) {
    checkWritable(smsDistributionPointInfoClass, body, 'update');
    const ref = keyString(key, 'NALPath');
    if (body.MaintenanceMode !== undefined) {
      if (typeof body.MaintenanceMode !== 'boolean') {
        throw new SitecastError('TYPE_MISMATCH', 'MaintenanceMode must be true or false', {
          field: 'MaintenanceMode',
        });
      }
      await ctx.site.dpSettings.setMaintenanceMode(ref, body.MaintenanceMode);
    }
    if (body.RateLimit !== undefined || body.Availability !== undefined || body.TimeZone !== undefined) {
      await ctx.site.dpSettings.setBandwidth(ref, {
        ...(body.RateLimit !== undefined && { rateLimit: requireString(body, 'RateLimit') }),
        ...(body.Availability !== undefined && { availability: requireString(body, 'Availability') }),
        ...(body.TimeZone !== undefined && { timeZone: nullableString(body, 'TimeZone') }),
      });
    }
    if (body.ValidationSchedule !== undefined || body.ValidationRepair !== undefined) {
      if (body.ValidationRepair !== undefined && typeof body.ValidationRepair !== 'boolean') {
        throw new SitecastError('TYPE_MISMATCH', 'ValidationRepair must be true or false', {
          field: 'ValidationRepair',
        });
      }
      const current = (await ctx.site.dps.get(ref)).validation;
      await ctx.site.dpSettings.setValidationSchedule(
        ref,
        body.ValidationSchedule !== undefined
          ? nullableString(body, 'ValidationSchedule')
          : (current?.schedule ?? null),
        body.ValidationRepair === undefined ? (current?.repair ?? false) : body.ValidationRepair === true,
      );
    }
    return key;
  },
  async delete(ctx, key) {
    await ctx.site.dps.remove(keyString(key, 'NALPath'));
  },
  methods: [
    {
      name: 'SetDPMaintenanceMode',
      binding: 'static',
      description: 'Mode 1: the DP takes no new content (it still validates); Mode 0: back to normal',
      params: {
        NALPath: { type: 'string', required: true },
        Mode: { type: 'uint32', required: true, description: '1 on, 0 off' },
      },
      async run(ctx, p) {
        if (p.Mode !== 0 && p.Mode !== 1) {
          throw new SitecastError('INVALID_PARAMETER', `Mode must be 0 or 1, not ${String(p.Mode)}`, {
            field: 'Mode',
          });
        }
        await ctx.site.dpSettings.setMaintenanceMode(requireString(p, 'NALPath'), p.Mode === 1);
        return {};
      },
    },
  ],
};

/** A string property that may be null (cleared). */
function nullableString(body: Readonly<Record<string, unknown>>, name: string): string | null {
  const v = body[name];
  if (v === null) return null;
  if (typeof v !== 'string') {
    throw new SitecastError('TYPE_MISMATCH', `${name} must be a string or null`, { field: name });
  }
  return v;
}

const targetParams = {
  PackageId: { type: 'string', required: true },
  NALPath: { type: 'string', required: true, description: 'NALPath (or name) of the DP' },
} as const;

export const smsDistributionPointClass: ApiClass = {
  name: 'SMS_DistributionPoint',
  description: 'one package targeted to one DP; create = distribute, delete = remove the content there',
  key: ['PackageID', 'ServerNALPath'],
  properties: viewProperties({
    PackageID: { type: 'string', access: 'create' },
    ServerNALPath: { type: 'string', access: 'create' },
    SiteCode: { type: 'string', access: 'create' },
    ServerName: { type: 'string' },
    PackageType: { type: 'uint32' },
    SourceSite: { type: 'string' },
    Status: { type: 'uint32', description: '0 none, 1 updated, 2 added, 3 deleted' },
    RefreshNow: { type: 'bool', access: 'rw', description: 'writing true sends the current version again' },
    LastRefreshTime: { type: 'datetime' },
    SummaryDate: { type: 'datetime', description: 'when the row last changed' },
    ...healthProperties,
  }),
  defaultOrder: packageDpOrder,
  packedRows: true,
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('package_dp as pd')
        .innerJoin('distribution_point as d', 'd.dp_id', 'pd.dp_id')
        .innerJoin('package as p', 'p.package_id', 'pd.package_id')
        .select([
          packageDpOrderColumn,
          'pd.package_id as PackageID',
          'd.nal_path as ServerNALPath',
          'd.site_code as SiteCode',
          'd.server_name as ServerName',
          'p.package_type as PackageType',
          'p.source_site as SourceSite',
          'pd.status as Status',
          sql<number>`0`.as('RefreshNow'),
          'pd.last_copied as LastRefreshTime',
          'pd.updated_at as SummaryDate',
          ...healthColumns,
        ]),
    ),
  toRecord(row) {
    return recordFromRow(smsDistributionPointClass, row);
  },
  async create(ctx, body) {
    checkWritable(smsDistributionPointClass, body, 'create');
    const packageId = requireString(body, 'PackageID');
    const dp = await ctx.site.dps.get(requireString(body, 'ServerNALPath'));
    if (typeof body.SiteCode === 'string' && body.SiteCode.toUpperCase() !== dp.siteCode) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `SiteCode ${body.SiteCode} is not the site of ${dp.name}`,
        {
          field: 'SiteCode',
        },
      );
    }
    await ctx.site.distribution.addDistributionPoints(packageId, [dp.nalPath]);
    return { key: { PackageID: packageId, ServerNALPath: dp.nalPath } };
  },
  async update(ctx, key, body) {
    checkWritable(smsDistributionPointClass, body, 'update');
    if (body.RefreshNow !== undefined && typeof body.RefreshNow !== 'boolean') {
      throw new SitecastError('TYPE_MISMATCH', 'RefreshNow must be true or false', { field: 'RefreshNow' });
    }
    if (body.RefreshNow === true) {
      await ctx.site.distribution.refreshNow(keyString(key, 'PackageID'), keyString(key, 'ServerNALPath'));
    }
    return key;
  },
  async delete(ctx, key) {
    await ctx.site.distribution.removeContent(keyString(key, 'PackageID'), keyString(key, 'ServerNALPath'));
  },
  methods: [
    {
      name: 'VerifyPackage',
      binding: 'static',
      description: 'validate: re-hash every file of the package on the DP and report (nothing is sent)',
      params: targetParams,
      async run(ctx, p) {
        const { jobId } = await ctx.site.distribution.verifyPackage(
          requireString(p, 'PackageId'),
          requireString(p, 'NALPath'),
        );
        return { JobID: jobId };
      },
      out: { JobID: 'int64' },
    },
    {
      name: 'CancelDistribution',
      binding: 'static',
      description: "stop the transfer to one DP; that DP's state becomes INSTALL_FAILED",
      params: targetParams,
      async run(ctx, p) {
        await ctx.site.distribution.cancelDistribution(
          requireString(p, 'PackageId'),
          requireString(p, 'NALPath'),
        );
        return {};
      },
    },
  ],
};
