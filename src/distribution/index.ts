export * from './dp-state.js';
export { DistributionService } from './distribution.service.js';
export {
  StatusService,
  type ContentExtraInfo,
  type DistPointStatus,
  type SiteDetailStatus,
  type StatusMessageView,
} from './status.service.js';
export { DpGroupRepository, type DpGroup } from './dp-group.repository.js';
export { DpGroupService, type DpGroupDetail, type DpGroupInput } from './dp-group.service.js';
export { DpSettingsService, type BandwidthChange } from './dp-settings.service.js';
export {
  DpRegistry,
  type DpAdapterFactory,
  type AddHttpDpInput,
  type AddLocalDpInput,
} from './dp-registry.service.js';
export {
  DpRepository,
  defaultBandwidth,
  nalPathOf,
  type DistributionPoint,
  type DpBandwidth,
  type DpConfig,
  type DpHealthCheck,
  type DpHealthRecord,
  type DpHealthState,
} from './dp.repository.js';
export { PackageDpRepository, type PackageDp } from './package-dp.repository.js';
export { StatusMessageRepository, type StatusMessage } from './status-message.repository.js';
export { statusMessageText } from './status-text.js';
export type { ContentLibraryPort } from './content-library.js';
export { JobKind, jobKey, type DistributionDeps, type RemoteStatusPort, type TransferMode } from './deps.js';
export { refreshJobHandler } from './refresh.job.js';
export { DistributionScheduler, type DistributionSchedulerOptions } from './scheduler.js';
export {
  DpHealthMonitor,
  type DpHealthMonitorDeps,
  type DpHealthMonitorOptions,
  type DpHealthResult,
} from './dp-health-monitor.js';
export {
  classifyHealth,
  defaultHealthThresholds,
  type DpHealthThresholds,
  type DpProbe,
} from './dp-health.js';
export { transferJobHandler } from './transfer.job.js';
export { verifyJobHandler, removeJobHandler, gcJobHandler } from './maintenance.jobs.js';
export { rollOutVersion, type VersionRollout } from './version-rollout.js';
