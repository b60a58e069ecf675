import type { PackageService } from '../catalog/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Clock, ProgressListener } from '../kernel/index.js';
import type { ContentLibraryPort } from './content-library.js';
import type { DpRegistry } from './dp-registry.service.js';
import type { PackageDpRepository } from './package-dp.repository.js';
import type { StatusMessageRepository } from './status-message.repository.js';

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
  readonly onProgress?: ProgressListener;
  readonly log?: (line: string) => void;
}

export const JobKind = {
  Refresh: 'refresh',
  Transfer: 'transfer',
  Verify: 'verify',
  Remove: 'remove',
  Gc: 'gc',
} as const;

export const jobKey = {
  refresh: (packageId: string) => `refresh:${packageId}`,
  transfer: (packageId: string, dpId: number) => `transfer:${packageId}:${dpId}`,
  verify: (packageId: string, dpId: number) => `verify:${packageId}:${dpId}`,
  remove: (packageId: string, dpId: number) => `remove:${packageId}:${dpId}`,
  gc: () => 'gc',
};

export type TransferMode = 'update' | 'redistribute';
