/**
 * Composition root of one site: opens the database and the content library, and wires catalog,
 * distribution, DP adapters and jobs together. `server`, the CLI and the demo all start from here.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
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
import { createLocalFolderDp } from '../dp/index.js';
import { SiteRepository } from '../hierarchy/index.js';
import { JobQueue, JobWorker } from '../jobs/index.js';
import { SitecastError, systemClock, type Clock, type ProgressListener } from '../kernel/index.js';

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
  readonly status: StatusService;
  readonly queue: JobQueue;
  /** A worker that runs this site's jobs (start() it, or runUntilIdle()); leaseMs defaults to settings.leaseMs. */
  createWorker(options?: {
    owner?: string;
    log?: (line: string) => void;
    leaseMs?: number;
    pollMs?: number;
  }): JobWorker;
  close(): Promise<void>;
}

export interface OpenSiteOptions {
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  readonly onProgress?: ProgressListener;
}

const localAdapterFactory: DpAdapterFactory = (dp, { create }) => {
  if (dp.config.kind !== 'local') {
    return Promise.reject(
      new SitecastError(
        'NOT_SUPPORTED',
        `distribution point ${dp.name}: kind ${dp.config.kind} is not available yet`,
        { field: 'kind' },
      ),
    );
  }
  return Promise.resolve(createLocalFolderDp({ root: dp.config.root, create }));
};

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
    const dps = new DpRegistry(
      new DpRepository(database.db),
      targets,
      localAdapterFactory,
      clock,
      site.siteCode,
    );
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
      ...(options.onProgress && { onProgress: options.onProgress }),
      ...(options.log && { log: options.log }),
    };
    const handlers = {
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
      status: new StatusService(deps),
      queue,
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
