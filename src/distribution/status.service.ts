import type { Package } from '../catalog/index.js';
import type { DistributionDeps } from './deps.js';
import { dpStateBucket, dpStateName, DpState } from './dp-state.js';
import { statusMessageText } from './status-text.js';

/** `SMS_ObjectContentExtraInfo`: what `Get-CMDistributionStatus` prints for a package. */
export interface ContentExtraInfo {
  readonly ObjectID: string;
  readonly SoftwareName: string;
  readonly Targeted: number;
  readonly NumberSuccess: number;
  readonly NumberInProgress: number;
  readonly NumberErrors: number;
  readonly NumberUnknown: number;
  readonly SourceVersion: number;
  readonly SourceSize: number;
}

/** `SMS_PackageStatusDistPointsSummarizer` row, with the transfer figures sitecast adds. */
export interface DistPointStatus {
  readonly PackageID: string;
  readonly ServerNALPath: string;
  readonly ServerName: string;
  readonly SiteCode: string;
  readonly State: number;
  readonly StateName: string;
  /** The version installed on the DP. */
  readonly SourceVersion: number;
  readonly TargetVersion: number;
  readonly LastCopied: string | null;
  readonly SummaryDate: string;
  readonly BytesTotal: number;
  readonly BytesDone: number;
  readonly BytesSent: number;
  readonly TransferRate: number;
  readonly Attempts: number;
  readonly LastError: string | null;
  /** Why the transfer waits (closed availability window, maintenance mode, rate limit); null when it does not. */
  readonly WaitReason: string | null;
  /** When a waiting transfer resumes, if known. */
  readonly ResumeAt: string | null;
}

/** `SMS_PackageStatusDetailSummarizer`: per package × site. */
export interface SiteDetailStatus {
  readonly PackageID: string;
  readonly SiteCode: string;
  readonly Targeted: number;
  readonly Installed: number;
  readonly Retrying: number;
  readonly Failed: number;
  readonly SourceVersion: number;
}

export interface StatusMessageView {
  readonly MessageID: number;
  readonly MessageState: number;
  readonly MessageSeverity: number;
  readonly PackageID: string;
  readonly ServerName: string | null;
  readonly InsertionStrings: readonly string[];
  readonly Text: string;
  readonly Time: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Read side of distribution: the status classes admins query. */
export class StatusService {
  constructor(private readonly d: DistributionDeps) {}

  async contentExtraInfo(packageId: string): Promise<ContentExtraInfo> {
    const pkg = await this.d.packages.get(packageId);
    return this.summarise(pkg);
  }

  async allContentExtraInfo(): Promise<ContentExtraInfo[]> {
    return Promise.all((await this.d.packages.list()).map((p) => this.summarise(p)));
  }

  private async summarise(pkg: Package): Promise<ContentExtraInfo> {
    const byState = await this.d.targets.stateCounts(pkg.packageId);
    // Hierarchy-wide: DPs of descendant sites count too (their sites report them up).
    const remote = (await this.d.remoteStatus?.dpRows(pkg.packageId)) ?? [];
    const counts = { success: 0, inProgress: 0, error: 0, unknown: 0 };
    let local = 0;
    for (const [state, n] of byState) {
      counts[dpStateBucket(state)] += n;
      local += n;
    }
    for (const r of remote) counts[dpStateBucket(r.State)]++;
    return {
      ObjectID: pkg.packageId,
      SoftwareName: pkg.name,
      Targeted: local + remote.length,
      NumberSuccess: counts.success,
      NumberInProgress: counts.inProgress,
      NumberErrors: counts.error,
      NumberUnknown: counts.unknown,
      SourceVersion: pkg.sourceVersion,
      SourceSize: pkg.packageSizeKb,
    };
  }

  /** One query for all the package's DPs (thousands at a big site): the rows with the DPs' names. */
  async distPointStatus(packageId: string): Promise<DistPointStatus[]> {
    await this.d.packages.get(packageId);
    const rows = await this.d.targets.statusRows(packageId);
    return rows.map((r): DistPointStatus => {
      const installed = r.state === DpState.INSTALLED;
      return {
        PackageID: r.packageId,
        ServerNALPath: r.nalPath ?? '',
        ServerName: r.dpName ?? `#${r.dpId}`,
        SiteCode: r.siteCode ?? this.d.siteCode,
        State: r.state,
        StateName: dpStateName(r.state),
        SourceVersion: r.installedVersion,
        TargetVersion: r.targetVersion,
        LastCopied: iso(r.lastCopied),
        SummaryDate: new Date(r.updatedAt).toISOString(),
        BytesTotal: r.bytesTotal,
        BytesDone: r.bytesDone,
        BytesSent: r.bytesSent,
        TransferRate: r.rate,
        Attempts: r.attempts,
        LastError: r.lastError,
        WaitReason: installed ? null : r.waitReason,
        ResumeAt: installed ? null : iso(r.resumeAt),
      };
    });
  }

  /**
   * Every DP of the hierarchy below this site: this site's own (`distPointStatus`, the ones its actions
   * address) and those of descendant sites, as their sites last reported them.
   */
  async hierarchyDpStatus(packageId: string): Promise<DistPointStatus[]> {
    const remote = (await this.d.remoteStatus?.dpRows(packageId)) ?? [];
    return [...(await this.distPointStatus(packageId)), ...remote];
  }

  async siteDetail(packageId: string): Promise<SiteDetailStatus[]> {
    const pkg = await this.d.packages.get(packageId);
    const rows = await this.hierarchyDpStatus(packageId);
    const bySite = new Map<string, DistPointStatus[]>();
    for (const r of rows) {
      const list = bySite.get(r.SiteCode);
      if (list) list.push(r);
      else bySite.set(r.SiteCode, [r]);
    }
    if (!bySite.has(this.d.siteCode)) bySite.set(this.d.siteCode, []);
    // Each site's own SourceVersion: what a descendant holds may lag the owner's.
    const versions = (await this.d.remoteStatus?.siteVersions(packageId)) ?? new Map<string, number>();
    for (const site of versions.keys()) if (!bySite.has(site)) bySite.set(site, []);
    return [...bySite].map(([site, list]) => ({
      PackageID: packageId,
      SiteCode: site,
      Targeted: list.length,
      Installed: list.filter((r) => r.State === DpState.INSTALLED).length,
      Retrying: list.filter(
        (r) => r.State === DpState.INSTALL_RETRYING || r.State === DpState.REMOVAL_RETRYING,
      ).length,
      Failed: list.filter((r) => r.State === DpState.INSTALL_FAILED || r.State === DpState.REMOVAL_FAILED)
        .length,
      SourceVersion: site === this.d.siteCode ? pkg.sourceVersion : (versions.get(site) ?? 0),
    }));
  }

  /**
   * Everything `status <PackageID>` shows at the top of a hierarchy: hierarchy-wide counts, one summary
   * per site and every DP of every site (descendants as they last reported).
   */
  async hierarchyStatus(packageId: string): Promise<{
    readonly content: ContentExtraInfo;
    readonly sites: SiteDetailStatus[];
    readonly dps: DistPointStatus[];
  }> {
    return {
      content: await this.contentExtraInfo(packageId),
      sites: await this.siteDetail(packageId),
      dps: await this.hierarchyDpStatus(packageId),
    };
  }

  async messages(packageId: string, limit = 50): Promise<StatusMessageView[]> {
    const dps = new Map((await this.d.dps.list()).map((dp) => [dp.dpId, dp.name]));
    const list = await this.d.messages.list({ packageId, limit });
    return list.map((m) => ({
      MessageID: m.messageId,
      MessageState: m.messageState,
      MessageSeverity: m.severity,
      PackageID: m.packageId,
      ServerName: m.dpId === null ? null : (dps.get(m.dpId) ?? null),
      InsertionStrings: m.insertionStrings,
      Text: statusMessageText(m.messageId, m.insertionStrings),
      Time: new Date(m.time).toISOString(),
    }));
  }
}
