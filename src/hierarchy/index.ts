export { SiteRepository, assertSiteCode, type Site, type SiteRole } from './site.repository.js';
export {
  SiteLinkRepository,
  LinkState,
  type ChildLink,
  type ParentLink,
  type LinkStateName,
} from './site-link.repository.js';
export { SiteReportRepository, type ReportedSiteRow } from './site-report.repository.js';
export {
  HierarchyService,
  REPLICATE_MAX_ATTEMPTS,
  type HierarchyServiceDeps,
  type SiteTreeNode,
} from './hierarchy.service.js';
export { ReplicaReceiver, packageMetaOf } from './replica-receiver.js';
export { replicateJobHandler, type ReplicateJobDeps } from './replicate.job.js';
export { ChildSendLimit } from './child-send-limit.js';
export { SiteClient, type SiteClientOptions } from './site-client.js';
export { siteRoutes, type HierarchySite, type SiteRoutesOptions } from './site-routes.js';
export {
  attachHierarchy,
  startHierarchy,
  type HierarchyRunner,
  type StartHierarchyOptions,
} from './hierarchy-wiring.js';
export { SITE_API_PREFIX, SITE_HEADER, type StatusReport, type PackageMeta } from './site-wire.js';
