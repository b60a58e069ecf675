/**
 * The part of a site the CLI commands use: what `ctx.site()` returns, the local SiteHandle or, with
 * `--server`, a RemoteSite speaking the AdminService REST API. Every method here must work both ways; a
 * command needing more (the job worker, the database) asks `ctx.localSite()`, which refuses `--server`.
 */
import type { SiteHandle } from '../app/site.js';
import type { AuditLog, TokenService } from '../auth/index.js';
import type { PackageService } from '../catalog/index.js';
import {
  PackageDpRepository,
  type DistributionPoint,
  type DistributionService,
  type DpGroupService,
  type DpRegistry,
  type DpSettingsService,
  type StatusService,
} from '../distribution/index.js';
import type { HierarchyService } from '../hierarchy/index.js';
import type { JobQueue } from '../jobs/index.js';

export interface CliSite {
  readonly siteCode: string;
  readonly packages: Pick<PackageService, 'create' | 'get' | 'list' | 'update' | 'listImages'>;
  readonly dps: Pick<DpRegistry, 'get' | 'list' | 'addLocal' | 'addHttp' | 'remove' | 'setPullSources'>;
  readonly distribution: Pick<
    DistributionService,
    | 'addDistributionPoints'
    | 'refreshPkgSource'
    | 'deletePackage'
    | 'redistribute'
    | 'refreshNow'
    | 'removeContent'
    | 'cancelDistribution'
    | 'verifyPackage'
  >;
  readonly dpGroups: Pick<
    DpGroupService,
    | 'create'
    | 'list'
    | 'get'
    | 'detail'
    | 'update'
    | 'delete'
    | 'addDistributionPoints'
    | 'removeDistributionPoints'
    | 'addPackages'
    | 'removePackages'
    | 'reDistributePackage'
    | 'refreshDPGroup'
  >;
  readonly dpSettings: Pick<
    DpSettingsService,
    'setBandwidth' | 'setMaintenanceMode' | 'setValidationSchedule'
  >;
  readonly status: Pick<
    StatusService,
    'contentExtraInfo' | 'distPointStatus' | 'hierarchyDpStatus' | 'messages'
  >;
  /** `--wait` reads the package's jobs (`{ packageId }` is the only filter it uses). */
  readonly queue: Pick<JobQueue, 'list'>;
  readonly tokens: Pick<TokenService, 'create' | 'list' | 'get' | 'revoke'>;
  readonly audit: Pick<AuditLog, 'list'>;
  readonly hierarchy: Pick<HierarchyService, 'listChildren' | 'parent' | 'tree' | 'setLinkBandwidth'>;
  /** The PackageIDs targeted to a DP (`dp list`). */
  packagesOnDp(dp: DistributionPoint): Promise<string[]>;
}

/** The local site as a CliSite: its own services, plus the one query no service offers. */
export function localCliSite(site: SiteHandle): CliSite {
  const targets = new PackageDpRepository(site.database.db);
  return {
    siteCode: site.siteCode,
    packages: site.packages,
    dps: site.dps,
    distribution: site.distribution,
    dpGroups: site.dpGroups,
    dpSettings: site.dpSettings,
    status: site.status,
    queue: site.queue,
    tokens: site.tokens,
    audit: site.audit,
    hierarchy: site.hierarchy,
    packagesOnDp: async (dp) => (await targets.listForDp(dp.dpId)).map((t) => t.packageId),
  };
}
