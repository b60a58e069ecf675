/**
 * AdminService records (PascalCase, ISO dates) back to the domain objects the CLI commands format, so a
 * command prints the same whether its site is local or remote. Values the API does not expose and no
 * command prints (row ids, internal timestamps) get neutral values, named below.
 */
import type { AuditEntry, RoleName, TokenInfo } from '../../auth/index.js';
import { parseAvailability, parseRateLimit } from '../../bandwidth/index.js';
import type { ImageInformation, Package } from '../../catalog/index.js';
import type {
  ContentExtraInfo,
  DistPointStatus,
  DistributionPoint,
  DpConfig,
  DpGroup,
  DpHealthState,
  StatusMessageView,
} from '../../distribution/index.js';
import type { Job, JobState } from '../../jobs/index.js';
import { writeScheduleString, type SMS_ScheduleToken } from '../../schedule/index.js';
import type { SmsRecord } from './admin-client.js';

const str = (r: SmsRecord, k: string): string => (typeof r[k] === 'string' ? r[k] : '');
const strOrNull = (r: SmsRecord, k: string): string | null => (typeof r[k] === 'string' ? r[k] : null);
const num = (r: SmsRecord, k: string): number => (typeof r[k] === 'number' ? r[k] : 0);
const numOrNull = (r: SmsRecord, k: string): number | null => (typeof r[k] === 'number' ? r[k] : null);
const ms = (r: SmsRecord, k: string): number | null => {
  const v = r[k];
  return typeof v === 'string' ? Date.parse(v) : null;
};

export function packageOf(r: SmsRecord): Package {
  const schedule = Array.isArray(r.RefreshSchedule) ? (r.RefreshSchedule as SMS_ScheduleToken[]) : [];
  return {
    packageId: str(r, 'PackageID'),
    packageType: num(r, 'PackageType'),
    name: str(r, 'Name'),
    version: str(r, 'Version'),
    description: str(r, 'Description'),
    manufacturer: str(r, 'Manufacturer'),
    language: str(r, 'Language'),
    pkgSourcePath: strOrNull(r, 'PkgSourcePath'),
    pkgSourceFlag: num(r, 'PkgSourceFlag'),
    pkgFlags: num(r, 'PkgFlags'),
    priority: num(r, 'Priority'),
    sourceVersion: num(r, 'SourceVersion'),
    storedPkgVersion: num(r, 'StoredPkgVersion'),
    sourceDate: ms(r, 'SourceDate'),
    lastRefreshTime: ms(r, 'LastRefreshTime'),
    sourceSite: str(r, 'SourceSite'),
    actionInProgress: num(r, 'ActionInProgress'),
    sedoObjectVersion: str(r, 'SedoObjectVersion'),
    imageProperty: strOrNull(r, 'ImageProperty'),
    imageIndex: numOrNull(r, 'ImageIndex'),
    refreshSchedule: schedule.length === 0 ? null : writeScheduleString(schedule),
    // Not exposed by the API; no command prints them.
    scheduleCheckedAt: null,
    packageSizeKb: num(r, 'PackageSize'),
    forcedDisconnectEnabled: r.ForcedDisconnectEnabled === true,
    forcedDisconnectDelay: num(r, 'ForcedDisconnectDelay'),
    forcedDisconnectNumRetries: num(r, 'ForcedDisconnectNumRetries'),
    createdAt: 0,
    updatedAt: 0,
  };
}

export function imageInformationOf(r: SmsRecord): ImageInformation {
  return {
    packageId: str(r, 'PackageID'),
    index: num(r, 'Index'),
    name: str(r, 'Name'),
    description: str(r, 'Description'),
    edition: str(r, 'Edition'),
    architecture: numOrNull(r, 'Architecture'),
    imageOsVersion: str(r, 'ImageOSVersion'),
    language: str(r, 'Language'),
    halType: str(r, 'HALType'),
    productType: str(r, 'ProductType'),
    size: num(r, 'Size'),
    creationDate: ms(r, 'CreationDate'),
    version: str(r, 'Version'),
  };
}

/** SMS_DistributionPointInfo → DistributionPoint. The agent secret never leaves the server: it reads ''. */
export function distributionPointOf(r: SmsRecord): DistributionPoint {
  const kind = str(r, 'Kind') as DistributionPoint['kind'];
  const isPull = r.IsPullDP === true;
  let config: DpConfig;
  if (kind === 'local') config = { kind: 'local', root: str(r, 'Path') };
  else {
    const sources = Array.isArray(r.PullSources) ? (r.PullSources as { dp: string; rank: number }[]) : [];
    const siteUrl = strOrNull(r, 'SiteUrl');
    config = {
      kind: 'http',
      url: str(r, 'Url'),
      secret: '',
      ...(isPull && sources.length > 0 && { sources }),
      ...(isPull && siteUrl !== null && { siteUrl }),
    };
  }
  const schedule = strOrNull(r, 'ValidationSchedule');
  return {
    // The API keys DPs by NALPath; the row id is the server's own business.
    dpId: 0,
    name: str(r, 'Name'),
    nalPath: str(r, 'NALPath'),
    serverName: str(r, 'ServerName'),
    siteCode: str(r, 'SiteCode'),
    kind,
    config,
    isPull,
    priority: num(r, 'Priority'),
    maintenanceMode: r.MaintenanceMode === true,
    createdAt: ms(r, 'CreatedTime') ?? 0,
    bandwidth: {
      rateLimit: parseRateLimit(str(r, 'RateLimit') || 'unlimited'),
      availability: parseAvailability(str(r, 'Availability') || '0'.repeat(168)),
      timeZone: strOrNull(r, 'TimeZone'),
    },
    validation: { schedule, repair: r.ValidationRepair === true, checkedAt: null },
    health: {
      state: healthStateOf(str(r, 'HealthState')),
      lastError: strOrNull(r, 'LastHealthError'),
      lastContactAt: ms(r, 'LastContactTime'),
      checkedAt: ms(r, 'LastHealthCheckTime'),
      freeBytes: numOrNull(r, 'FreeBytes'),
      // Not exposed by the API (it shows in LastHealthError when it degrades the DP); no command prints it.
      transferError: null,
    },
  };
}

function healthStateOf(s: string): DpHealthState {
  return s === 'online' || s === 'degraded' || s === 'offline' ? s : 'unknown';
}

export function dpGroupOf(r: SmsRecord): DpGroup {
  return {
    groupId: str(r, 'GroupID'),
    name: str(r, 'Name'),
    description: str(r, 'Description'),
    createdAt: ms(r, 'CreatedOn') ?? 0,
    modifiedAt: ms(r, 'ModifiedOn') ?? 0,
    memberCount: num(r, 'MemberCount'),
    contentCount: num(r, 'ContentCount'),
  };
}

export function contentExtraInfoOf(r: SmsRecord): ContentExtraInfo {
  return {
    ObjectID: str(r, 'ObjectID'),
    SoftwareName: str(r, 'SoftwareName'),
    Targeted: num(r, 'Targeted'),
    NumberSuccess: num(r, 'NumberSuccess'),
    NumberInProgress: num(r, 'NumberInProgress'),
    NumberErrors: num(r, 'NumberErrors'),
    NumberUnknown: num(r, 'NumberUnknown'),
    SourceVersion: num(r, 'SourceVersion'),
    SourceSize: num(r, 'SourceSize'),
  };
}

export function distPointStatusOf(r: SmsRecord): DistPointStatus {
  const installed = num(r, 'State') === 0;
  return {
    PackageID: str(r, 'PackageID'),
    ServerNALPath: str(r, 'ServerNALPath'),
    ServerName: str(r, 'ServerName'),
    SiteCode: str(r, 'SiteCode'),
    State: num(r, 'State'),
    StateName: str(r, 'StateName'),
    SourceVersion: num(r, 'SourceVersion'),
    TargetVersion: num(r, 'TargetVersion'),
    LastCopied: strOrNull(r, 'LastCopied'),
    SummaryDate: str(r, 'SummaryDate'),
    BytesTotal: num(r, 'BytesTotal'),
    BytesDone: num(r, 'BytesDone'),
    BytesSent: num(r, 'BytesSent'),
    TransferRate: num(r, 'TransferRate'),
    Attempts: num(r, 'Attempts'),
    LastError: strOrNull(r, 'LastError'),
    // As the status service tells it: an installed row neither waits nor resumes.
    WaitReason: installed ? null : strOrNull(r, 'WaitReason'),
    ResumeAt: installed ? null : strOrNull(r, 'ResumeAt'),
  };
}

export function statusMessageOf(r: SmsRecord): StatusMessageView {
  return {
    MessageID: num(r, 'MessageID'),
    MessageState: num(r, 'MessageState'),
    MessageSeverity: num(r, 'MessageSeverity'),
    PackageID: str(r, 'PackageID'),
    ServerName: strOrNull(r, 'Name'),
    InsertionStrings: Array.isArray(r.InsertionStrings) ? (r.InsertionStrings as string[]) : [],
    Text: str(r, 'Text'),
    Time: str(r, 'Time'),
  };
}

export function tokenInfoOf(r: SmsRecord): TokenInfo {
  return {
    id: num(r, 'ID'),
    name: str(r, 'Name'),
    role: str(r, 'Role') as RoleName,
    createdAt: ms(r, 'CreatedTime') ?? 0,
    expiresAt: ms(r, 'ExpiresTime'),
    lastUsedAt: ms(r, 'LastUsedTime'),
    revokedAt: ms(r, 'RevokedTime'),
    prefix: str(r, 'Prefix'),
  };
}

export function auditEntryOf(r: SmsRecord): AuditEntry {
  return {
    id: num(r, 'ID'),
    time: ms(r, 'Time') ?? 0,
    principalName: strOrNull(r, 'PrincipalName'),
    tokenId: numOrNull(r, 'TokenID'),
    action: str(r, 'Action') as AuditEntry['action'],
    className: str(r, 'ClassName'),
    target: strOrNull(r, 'Target'),
    method: strOrNull(r, 'Method'),
    result: num(r, 'Result'),
    detail: strOrNull(r, 'Detail'),
    remoteAddress: strOrNull(r, 'RemoteAddress'),
  };
}

/** SMS_AdminJob → Job: the payload and the lease stay on the server. */
export function jobOf(r: SmsRecord): Job {
  return {
    id: num(r, 'ID'),
    kind: str(r, 'Kind'),
    key: '',
    packageId: strOrNull(r, 'PackageID'),
    payload: null,
    priority: num(r, 'Priority'),
    state: str(r, 'State') as JobState,
    attempts: num(r, 'Attempts'),
    maxAttempts: num(r, 'MaxAttempts'),
    runAt: ms(r, 'RunTime') ?? 0,
    lastError: strOrNull(r, 'LastError'),
    leaseOwner: null,
    leaseExpires: null,
    cancelRequested: false,
    createdAt: ms(r, 'CreatedTime') ?? 0,
    updatedAt: ms(r, 'UpdatedTime') ?? 0,
  };
}
