/**
 * Composition root of one site: opens the database and the content library, and wires catalog,
 * distribution, DP adapters and jobs together. `server`, the CLI and the demo all start from here.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { AuditLog, AuditRepository, TokenRepository, TokenService } from '../auth/index.js';
import { ImageInfoRepository, ImageService, PackageRepository, PackageService } from '../catalog/index.js';
import type { Settings } from '../config/index.js';
import { ContentLibrary } from '../content/index.js';
import { openDatabase, type SiteDatabase } from '../db/index.js';
import {
  DistributionService,
  DpGroupRepository,
  DpGroupService,
  DpRegistry,
  DpRepository,
  DpSettingsService,
  DistributionScheduler,
  DpHealthMonitor,
  gcJobHandler,
  JobKind,
  PackageDpRepository,
  refreshJobHandler,
  removeJobHandler,
  StatusMessageRepository,
  StatusService,
  transferJobHandler,
  verifyJobHandler,
  type DistributionDeps,
  type DpAdapterFactory,
} from '../distribution/index.js';
import { createLocalFolderDp, HttpDpAdapter } from '../dp/index.js';
import {
  ChildSendLimit,
  HierarchyService,
  replicateJobHandler,
  SiteReportRepository,
  SiteRepository,
} from '../hierarchy/index.js';
import { JobQueue, JobWorker } from '../jobs/index.js';
import { systemClock, type Clock, type ProgressListener } from '../kernel/index.js';

export interface SiteHandle {
  readonly siteCode: string;
  readonly settings: Settings;
  readonly database: SiteDatabase;
  readonly library: ContentLibrary;
  readonly packages: PackageService;
  /** GetImageProperties / ReloadImageProperties. */
  readonly images: ImageService;
  readonly dps: DpRegistry;
  readonly distribution: DistributionService;
  /** SMS_DistributionPointGroup. */
  readonly dpGroups: DpGroupService;
  /** Rate limits, availability windows, maintenance mode of DPs. */
  readonly dpSettings: DpSettingsService;
  readonly status: StatusService;
  readonly queue: JobQueue;
  /** API bearer tokens (SMS_AdminToken). */
  readonly tokens: TokenService;
  /** Who changed what through the API. */
  readonly audit: AuditLog;
  /** Parent and child sites: links, join, replication, status reports (attach/startHierarchy use it). */
  readonly hierarchy: HierarchyService;
  /** A worker that runs this site's jobs (start() it, or runUntilIdle()); leaseMs defaults to settings.leaseMs. */
  createWorker(options?: {
    owner?: string;
    log?: (line: string) => void;
    leaseMs?: number;
    pollMs?: number;
  }): JobWorker;
  /** Runs refresh and content validation schedules (`server` starts it; tests tick it). */
  createScheduler(options?: {
    pollMs?: number;
    log?: (line: string) => void;
    /** IANA zone of local-time schedules (default the server's). */
    timeZone?: string;
  }): DistributionScheduler;
  /** Probes every DP's health every `settings.dpHealthIntervalMs` (`server` starts it; tests call checkAll). */
  createHealthMonitor(options?: {
    intervalMs?: number;
    timeoutMs?: number;
    log?: (line: string) => void;
  }): DpHealthMonitor;
  close(): Promise<void>;
}

/** Reported to parent sites (SMS_Site.Version). */
const sitecastVersion = '0.1.0';

export interface OpenSiteOptions {
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  readonly onProgress?: ProgressListener;
}

/** Builds each DP's adapter from its row: a folder on this server, or a DP agent over HTTP. */
function dpAdapterFactory(clock: Clock): DpAdapterFactory {
  return async (dp, { create }) => {
    switch (dp.config.kind) {
      case 'local':
        return createLocalFolderDp({ root: dp.config.root, create });
      case 'http': {
        const adapter = new HttpDpAdapter({ url: dp.config.url, secret: dp.config.secret, clock });
        // Being added: the agent must answer and accept the secret (DP_UNAVAILABLE / ACCESS_DENIED otherwise).
        if (create) await adapter.checkHealth();
        return adapter;
      }
    }
  };
}

export async function openSite(settings: Settings, options: OpenSiteOptions = {}): Promise<SiteHandle> {
  const clock = options.clock ?? systemClock;
  await mkdir(settings.home, { recursive: true });
  const database = await openDatabase(settings.db);
  let library: ContentLibrary | undefined;
  try {
    const site = await new SiteRepository(database.db, clock).ensureLocal(settings.siteCode);
    library = await ContentLibrary.open(join(settings.home, 'content'), { threads: settings.chunkerThreads });
    const packages = new PackageService(
      new PackageRepository(database.db),
      clock,
      site.siteCode,
      new ImageInfoRepository(database.db),
    );
    const targets = new PackageDpRepository(database.db);
    const dpRepository = new DpRepository(database.db);
    // `hierarchy` is created below (it needs the distribution deps); these closures run only once the site is open.
    const dps = new DpRegistry(dpRepository, targets, dpAdapterFactory(clock), clock, site.siteCode, () =>
      hierarchy.assertMayAddDp(),
    );
    const reports = new SiteReportRepository(database.db);
    const queue = new JobQueue(database.db, database.capabilities, clock, {
      limits: { packages: settings.maxPackages, perPackage: settings.maxDpsPerPackage },
    });
    const deps: DistributionDeps = {
      siteCode: site.siteCode,
      packages,
      dps,
      targets,
      messages: new StatusMessageRepository(database.db),
      queue,
      library,
      clock,
      onVersionRecorded: (packageId, _version, trx) => hierarchy.onVersionRecorded(packageId, trx),
      remoteStatus: reports,
      ...(options.onProgress && { onProgress: options.onProgress }),
      ...(options.log && { log: options.log }),
    };
    const lib0 = library;
    const status = new StatusService(deps);
    const hierarchy = new HierarchyService({
      db: database.db,
      distribution: deps,
      status,
      library: lib0,
      reports,
      version: sitecastVersion,
    });
    const handlers = {
      [JobKind.Replicate]: replicateJobHandler({
        distribution: deps,
        library: lib0,
        links: hierarchy.links,
        sendLimit: new ChildSendLimit(settings.sendsPerChildSite),
      }),
      [JobKind.Refresh]: refreshJobHandler(deps),
      [JobKind.Transfer]: transferJobHandler(deps),
      [JobKind.Verify]: verifyJobHandler(deps),
      [JobKind.Remove]: removeJobHandler(deps),
      [JobKind.Gc]: gcJobHandler(deps),
    };
    const lib = library;
    const distribution = new DistributionService(deps);
    return {
      siteCode: site.siteCode,
      settings,
      database,
      library: lib,
      packages,
      images: new ImageService(packages),
      dps,
      distribution,
      dpGroups: new DpGroupService(
        new DpGroupRepository(database.db),
        dps,
        targets,
        packages,
        distribution,
        clock,
      ),
      dpSettings: new DpSettingsService(dps, dpRepository, targets, queue, clock),
      status,
      hierarchy,
      queue,
      tokens: new TokenService(new TokenRepository(database.db), clock),
      audit: new AuditLog(new AuditRepository(database.db), clock),
      createWorker: (o = {}) =>
        new JobWorker({
          queue,
          clock,
          handlers,
          owner: o.owner ?? `${hostname()}:${process.pid}`,
          // The site's setting unless the caller picks one: `server` and `--wait` workers share it.
          leaseMs: o.leaseMs ?? settings.leaseMs,
          ...(o.pollMs !== undefined && { pollMs: o.pollMs }),
          ...((o.log ?? options.log) && { log: o.log ?? options.log }),
        }),
      createScheduler: (o = {}) =>
        new DistributionScheduler(
          { ...deps, ...((o.log ?? options.log) && { log: o.log ?? options.log }) },
          dpRepository,
          {
            ...(o.pollMs !== undefined && { pollMs: o.pollMs }),
            ...(o.timeZone !== undefined && { timeZone: o.timeZone }),
          },
        ),
      createHealthMonitor: (o = {}) =>
        new DpHealthMonitor(
          {
            dps,
            repo: dpRepository,
            clock,
            ...((o.log ?? options.log) && { log: o.log ?? options.log }),
          },
          {
            intervalMs: o.intervalMs ?? settings.dpHealthIntervalMs,
            ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
          },
        ),
      close: async () => {
        await lib.close();
        await database.close();
      },
    };
  } catch (e) {
    await library?.close();
    await database.close();
    throw e;
  }
}
