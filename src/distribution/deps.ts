import type { Transaction } from 'kysely';
import type { PackageService } from '../catalog/index.js';
import type { Database } from '../db/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Clock, ProgressListener } from '../kernel/index.js';
import type { ContentLibraryPort } from './content-library.js';
import type { DpRegistry } from './dp-registry.service.js';
import type { PackageDpRepository } from './package-dp.repository.js';
import type { StatusMessageRepository } from './status-message.repository.js';
import type { DistPointStatus } from './status.service.js';

/** What the distribution service and its job handlers are built from (wired in src/app). */
export interface DistributionDeps {
  readonly siteCode: string;
  readonly packages: PackageService;
  readonly dps: DpRegistry;
  readonly targets: PackageDpRepository;
  readonly messages: StatusMessageRepository;
  readonly queue: JobQueue;
  readonly library: ContentLibraryPort;
  readonly clock: Clock;
  /** IANA zone of DP availability windows that name none; default the server's own. */
  readonly timeZone?: string;
  readonly onProgress?: ProgressListener;
  readonly log?: (line: string) => void;
  /**
   * Called in the transaction that recorded a new version (refresh, or a version received from the parent
   * site): the hierarchy queues replication to child sites there, so it commits with the version.
   */
  readonly onVersionRecorded?: (
    packageId: string,
    sourceVersion: number,
    trx: Transaction<Database>,
  ) => Promise<void>;
  /** Status rows reported by descendant sites (the hierarchy); absent on a site without children. */
  readonly remoteStatus?: RemoteStatusPort;
}

/** What descendant sites reported, as the status classes show it (implemented in src/hierarchy). */
export interface RemoteStatusPort {
  /** SMS_PackageStatusDistPointsSummarizer rows of DPs at descendant sites. */
  dpRows(packageId: string): Promise<readonly DistPointStatus[]>;
  /** The SourceVersion each descendant site holds of the package. */
  siteVersions(packageId: string): Promise<ReadonlyMap<string, number>>;
}

export const JobKind = {
  Refresh: 'refresh',
  Transfer: 'transfer',
  Verify: 'verify',
  Remove: 'remove',
  Gc: 'gc',
  /** Send a package's metadata and latest version to one child site (src/hierarchy). */
  Replicate: 'replicate',
} as const;

export const jobKey = {
  refresh: (packageId: string) => `refresh:${packageId}`,
  transfer: (packageId: string, dpId: number) => `transfer:${packageId}:${dpId}`,
  verify: (packageId: string, dpId: number) => `verify:${packageId}:${dpId}`,
  remove: (packageId: string, dpId: number) => `remove:${packageId}:${dpId}`,
  gc: () => 'gc',
  replicate: (childSiteCode: string, packageId: string) => `replicate:${childSiteCode}:${packageId}`,
};

export type TransferMode = 'update' | 'redistribute';
