/**
 * Row types of the site database. Timestamps are UTC epoch milliseconds (integers), flags are integers,
 * JSON columns are text checked with zod where they are read.
 */
import type { Generated } from 'kysely';

export interface SiteTable {
  site_code: string;
  name: string;
  /** 'cas' | 'primary' | 'secondary' */
  role: string;
  parent_url: string | null;
  created_at: number;
}

/** Monotonic counters (PackageID allocation): values are never handed out twice. */
export interface CounterTable {
  name: string;
  value: number;
}

export interface PackageTable {
  package_id: string;
  package_type: number;
  name: string;
  version: string;
  description: string;
  manufacturer: string;
  language: string;
  pkg_source_path: string | null;
  pkg_source_flag: number;
  pkg_flags: number;
  priority: number;
  source_version: number;
  stored_pkg_version: number;
  source_date: number | null;
  last_refresh_time: number | null;
  source_site: string;
  action_in_progress: number;
  /** Optimistic-concurrency counter, exposed as the string SedoObjectVersion. */
  sedo_object_version: number;
  image_property: string | null;
  /** The image index the package deploys (image packages). */
  image_index: number | null;
  /** RefreshSchedule in its string form (16 hex digits per SMS_ScheduleToken), null when none. */
  refresh_schedule: string | null;
  /** When the refresh scheduler last looked at RefreshSchedule (epoch ms); null: not since it was set. */
  schedule_checked_at: number | null;
  package_size_kb: number;
  forced_disconnect_enabled: number;
  forced_disconnect_delay: number;
  forced_disconnect_num_retries: number;
  created_at: number;
  updated_at: number;
}

export interface PackageVersionTable {
  package_id: string;
  source_version: number;
  manifest_id: string;
  total_bytes: number;
  file_count: number;
  chunk_count: number;
  job_id: number | null;
  created_at: number;
}

/** SMS_ImageInformation: one row per image index of an image package's WIM (reference wim.md). */
export interface ImageInfoTable {
  package_id: string;
  image_index: number;
  name: string;
  description: string;
  /** WINDOWS/EDITIONID, else FLAGS (shown by `image show`; not an SMS_ImageInformation property). */
  edition: string;
  /** WINDOWS/ARCH: 0 x86, 5 ARM, 6 IA64, 9 x64, 12 ARM64; null when the WIM does not say. */
  architecture: number | null;
  /** MAJOR.MINOR.BUILD.SPBUILD, '' when the WIM has no WINDOWS/VERSION. */
  image_os_version: string;
  language: string;
  hal_type: string;
  product_type: string;
  /** The image's TOTALBYTES. */
  size: number;
  creation_date: number | null;
  /** The package's Version. */
  version: string;
}

export interface DistributionPointTable {
  dp_id: Generated<number>;
  name: string;
  nal_path: string;
  server_name: string;
  site_code: string;
  /** 'local' | 'http' | 's3' */
  kind: string;
  /** Adapter settings as JSON text (a local DP's root folder, a remote agent's URL, …). */
  config: string;
  is_pull: number;
  priority: number;
  maintenance_mode: number;
  created_at: number;
  /** parseRateLimit text: 'unlimited', '<n>B/s', 'pulse:…', 'hourly:…'. */
  rate_limit: Generated<string>;
  /** 168 digits, Sunday 00:00 first: 0 all, 1 medium and high, 2 high only, 3 closed. */
  availability: Generated<string>;
  /** IANA zone the availability matrix and hourly limits are read in; null = the site server's. */
  time_zone: string | null;
  /** Content validation schedule (schedule string), null when none. */
  validation_schedule: string | null;
  /** 1: a failed scheduled validation repairs itself (RefreshNow with repair). */
  validation_repair: Generated<number>;
  /** When the scheduler last looked at the validation schedule. */
  validation_checked_at: number | null;
  /** 'online' | 'degraded' | 'offline' as the health monitor last saw it; null = never checked. */
  health_state: string | null;
  /** Why the DP was last degraded or offline (kept after it recovers). */
  health_error: string | null;
  /** When the DP last answered (a health probe or a transfer). */
  health_contact_at: number | null;
  /** When the health monitor last probed it. */
  health_checked_at: number | null;
  /** Free bytes on the DP's volume at its last answer. */
  health_free_bytes: number | null;
  /** The error of the last transfer to the DP; null when it succeeded. */
  transfer_error: string | null;
}

/** One package targeted to one DP (SMS_DistributionPoint + SMS_PackageStatusDistPointsSummarizer). */
export interface PackageDpTable {
  package_id: string;
  dp_id: number;
  /** SMS_PackageStatusDistPointsSummarizer.State, 0–8. */
  state: number;
  /** SMS_DistributionPoint.Status: 0 none, 1 updated, 2 added, 3 deleted. */
  status: number;
  target_version: number;
  installed_version: number;
  bytes_total: number;
  bytes_done: number;
  /** Bytes actually sent to the DP by the last transfer (the delta). */
  bytes_sent: number;
  rate: number;
  attempts: number;
  last_error: string | null;
  last_copied: number | null;
  updated_at: number;
  /** Why the transfer is waiting (closed window, maintenance mode, rate limit), null when it is not. */
  wait_reason: string | null;
  /** When a waiting transfer resumes (epoch ms), if known. */
  resume_at: number | null;
}

export interface StatusMessageTable {
  id: Generated<number>;
  package_id: string;
  dp_id: number | null;
  message_id: number;
  /** 1 success, 2 in progress, 3 error */
  message_state: number;
  severity: number;
  /** JSON array of insertion strings. */
  insertion_strings: string;
  time: number;
}

export interface JobTable {
  id: Generated<number>;
  kind: string;
  /** Coalescing key: at most one queued job per key. */
  key: string;
  /** Package the job works on (for the per-package concurrency limit), if any. */
  package_id: string | null;
  payload: string;
  priority: number;
  /** 'queued' | 'running' | 'done' | 'failed' | 'cancelled' */
  state: string;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires: number | null;
  last_error: string | null;
  /** 1 when a running job was cancelled: its handler is told at the next heartbeat. */
  cancel_requested: Generated<number>;
  created_at: number;
  updated_at: number;
}

/** SMS_DistributionPointGroup. */
export interface DpGroupTable {
  /** `{GUID}` in upper case. */
  group_id: string;
  name: string;
  /** Lower-cased name: group names are unique case-insensitively. */
  name_key: string;
  description: string;
  created_at: number;
  modified_at: number;
}

export interface DpGroupMemberTable {
  group_id: string;
  dp_id: number;
  added_at: number;
}

export interface DpGroupPackageTable {
  group_id: string;
  package_id: string;
  added_at: number;
}

/** An API bearer token: only the SHA-256 of its secret is kept. */
export interface ApiTokenTable {
  id: Generated<number>;
  name: string;
  /** Lower-cased name: token names are unique case-insensitively. */
  name_key: string;
  /** 'Full Administrator' | 'Operations Administrator' | 'Read-only Analyst' */
  role: string;
  /** Hex SHA-256 of the whole token text. */
  token_hash: string;
  /** The token's first characters, to tell tokens apart in lists. */
  prefix: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** One change (create, update, delete, method call) made through the API. */
export interface AuditLogTable {
  id: Generated<number>;
  time: number;
  /** Null when no principal was authenticated. */
  principal_name: string | null;
  token_id: number | null;
  /** 'create' | 'update' | 'delete' | 'method' */
  action: string;
  class_name: string;
  target: string | null;
  method: string | null;
  /** ReturnValue or HRESULT, unsigned 32-bit. */
  result: number;
  detail: string | null;
  remote_address: string | null;
}

/** A child site of this one (design §6): joined with the join secret, then signed with `secret`. */
export interface SiteLinkTable {
  site_code: string;
  /** 'primary' | 'secondary' */
  role: string;
  url: string;
  secret: string;
  /** The sitecast version the child last reported. */
  version: string;
  /** 'active' | 'unreachable' */
  state: string;
  last_contact: number | null;
  last_error: string | null;
  bytes_sent: Generated<number>;
  joined_at: number;
  /** parseRateLimit text of content sent down this link. */
  rate_limit: Generated<string>;
  /** 168-digit availability of the link (Sunday 00:00 first), read in time_zone. */
  availability: Generated<string>;
  time_zone: string | null;
}

/** This site's parent link (one row, id 1). */
export interface SiteParentTable {
  id: number;
  site_code: string;
  role: string;
  url: string;
  secret: string;
  state: string;
  last_contact: number | null;
  last_error: string | null;
  joined_at: number;
}

/** A descendant site as its branch last reported it. */
export interface SiteReportSiteTable {
  site_code: string;
  via_child: string;
  parent_code: string;
  role: string;
  updated_at: number;
}

/** The SourceVersion a descendant site holds of a package. */
export interface SiteReportPackageTable {
  site_code: string;
  package_id: string;
  via_child: string;
  source_version: number;
  updated_at: number;
}

/** A descendant site's per-DP status row (JSON of SMS_PackageStatusDistPointsSummarizer). */
export interface SiteReportDpTable {
  site_code: string;
  package_id: string;
  nal_path: string;
  via_child: string;
  data: string;
  updated_at: number;
}

export interface Database {
  site: SiteTable;
  counter: CounterTable;
  package: PackageTable;
  package_version: PackageVersionTable;
  image_info: ImageInfoTable;
  distribution_point: DistributionPointTable;
  package_dp: PackageDpTable;
  status_message: StatusMessageTable;
  job: JobTable;
  dp_group: DpGroupTable;
  dp_group_member: DpGroupMemberTable;
  dp_group_package: DpGroupPackageTable;
  api_token: ApiTokenTable;
  audit_log: AuditLogTable;
  site_link: SiteLinkTable;
  site_parent: SiteParentTable;
  site_report_site: SiteReportSiteTable;
  site_report_package: SiteReportPackageTable;
  site_report_dp: SiteReportDpTable;
}
