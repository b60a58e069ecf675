import { checkSource, PkgSourceFlag, type Package } from '../catalog/index.js';
import { SitecastError } from '../kernel/index.js';
import type { DistributionPoint } from './dp.repository.js';
import type { PackageDp } from './package-dp.repository.js';
import { DpState, DpTargetStatus, MessageId, MessageState, Severity } from './dp-state.js';
import { JobKind, jobKey, type DistributionDeps, type TransferMode } from './deps.js';

/**
 * The admin actions of distribution (reference §2): each validates, records the work (state rows, status
 * messages, jobs) and returns; the copying happens in jobs. Failures throw SitecastError with the code a
 * method call returns as ReturnValue.
 */
export class DistributionService {
  constructor(private readonly d: DistributionDeps) {}

  /**
   * SMS_ImagePackage.RefreshPkgSource(): validates, marks ActionInProgress = 1 and queues the refresh. A
   * refresh already queued for the package absorbs this one (not an error).
   */
  async refreshPkgSource(packageId: string): Promise<{ readonly id: number; readonly coalesced: boolean }> {
    const pkg = await this.d.packages.get(packageId);
    this.assertOwned(pkg, 'refresh');
    if (pkg.pkgSourceFlag !== PkgSourceFlag.Direct || !pkg.pkgSourcePath) {
      throw new SitecastError(
        'NO_SOURCE',
        `package ${packageId} has no source to refresh (PkgSourceFlag ${pkg.pkgSourceFlag}, PkgSourcePath ${pkg.pkgSourcePath ?? 'empty'})`,
        {
          field: 'PkgSourcePath',
        },
      );
    }
    await checkSource(pkg.pkgSourcePath, pkg.packageType);
    return this.d.packages.transaction(async (trx) => {
      await this.d.packages.setActionInProgress(packageId, 1, trx);
      return this.d.queue.enqueue(
        { kind: JobKind.Refresh, key: jobKey.refresh(packageId), packageId, priority: pkg.priority },
        trx,
      );
    });
  }

  /**
   * SMS_Package.AddDistributionPoints: targets the package to DPs and sends its current version. A
   * package never snapshotted gets its first version made now (as Configuration Manager processes a new
   * package). Every DP is checked before anything is recorded.
   */
  async addDistributionPoints(packageId: string, dpRefs: readonly string[]): Promise<void> {
    const pkg = await this.d.packages.get(packageId);
    if (dpRefs.length === 0)
      throw new SitecastError('INVALID_PARAMETER', 'no distribution point given', { field: 'NALPath' });
    const dps = await Promise.all(dpRefs.map((r) => this.d.dps.get(r)));
    // A package another site owns gets its versions from the parent site (the hierarchy notices the new
    // target in this site's status report and sends the latest version); only the owner snapshots.
    const needsFirstVersion = pkg.sourceVersion === 0 && pkg.sourceSite === this.d.siteCode;
    if (needsFirstVersion && (pkg.pkgSourceFlag !== PkgSourceFlag.Direct || !pkg.pkgSourcePath)) {
      throw new SitecastError(
        'NO_SOURCE',
        `package ${packageId} has no source and no content to distribute`,
        { field: 'PkgSourcePath' },
      );
    }
    if (needsFirstVersion) await checkSource(pkg.pkgSourcePath!, pkg.packageType);
    // A pending removal of the package from one of these DPs is called off.
    for (const dp of dps) await this.d.queue.cancel({ key: jobKey.remove(packageId, dp.dpId) });
    const now = this.d.clock.now();
    await this.d.packages.transaction(async (trx) => {
      for (const dp of dps) {
        const created = await this.d.targets.insertIfAbsent(
          {
            packageId,
            dpId: dp.dpId,
            state: DpState.INSTALL_PENDING,
            status: DpTargetStatus.Added,
            targetVersion: pkg.sourceVersion,
            installedVersion: 0,
            bytesTotal: 0,
            bytesDone: 0,
            bytesSent: 0,
            rate: 0,
            attempts: 0,
            lastError: null,
            lastCopied: null,
          },
          now,
          trx,
        );
        if (!created) {
          // Already targeted: re-target (e.g. after a failure or a pending removal) and send again.
          await this.d.targets.update(
            packageId,
            dp.dpId,
            { state: DpState.INSTALL_PENDING, status: DpTargetStatus.Added, lastError: null },
            now,
            trx,
          );
        }
        if (pkg.sourceVersion > 0) await this.enqueueTransfer(pkg, dp, 'update', trx);
      }
      if (needsFirstVersion) {
        await this.d.packages.setActionInProgress(packageId, 2, trx);
        await this.d.queue.enqueue(
          { kind: JobKind.Refresh, key: jobKey.refresh(packageId), packageId, priority: pkg.priority },
          trx,
        );
      }
    });
  }

  /** SMS_DistributionPoint.RefreshNow = true: the current version again to one DP, missing parts only. */
  async refreshNow(packageId: string, dpRef: string): Promise<void> {
    await this.resend(packageId, dpRef, 'update');
  }

  /** Redistribute: everything again to one DP, overwriting what it has. */
  async redistribute(packageId: string, dpRef: string): Promise<void> {
    await this.resend(packageId, dpRef, 'redistribute');
  }

  private async resend(packageId: string, dpRef: string, mode: TransferMode): Promise<void> {
    const { pkg, dp, row } = await this.targeted(packageId, dpRef);
    // Not known good (failed validation, cancelled): a RefreshNow rebuilds and repairs it.
    const repair = row.state !== DpState.INSTALLED;
    if (pkg.sourceVersion === 0) {
      throw new SitecastError(
        'NO_SOURCE',
        `package ${packageId} has no version yet; run RefreshPkgSource first`,
        { field: 'SourceVersion' },
      );
    }
    const now = this.d.clock.now();
    await this.d.packages.transaction(async (trx) => {
      await this.d.targets.update(
        packageId,
        dp.dpId,
        {
          state: DpState.CONTENT_UPDATING,
          status: DpTargetStatus.Updated,
          targetVersion: pkg.sourceVersion,
          lastError: null,
          attempts: 0,
        },
        now,
        trx,
      );
      await this.enqueueTransfer(pkg, dp, mode, trx, repair);
    });
  }

  /** SMS_DistributionPoint.VerifyPackage: re-hash on the DP and report; nothing is sent. */
  async verifyPackage(packageId: string, dpRef: string): Promise<{ jobId: number }> {
    const { dp } = await this.targeted(packageId, dpRef);
    const r = await this.d.queue.enqueue({
      kind: JobKind.Verify,
      key: jobKey.verify(packageId, dp.dpId),
      packageId,
      payload: { dpId: dp.dpId },
      // Validation is the lowest-priority work.
      priority: 3,
    });
    return { jobId: r.id };
  }

  /** SMS_DistributionPoint.CancelDistribution: stops the transfer; that DP's state becomes failed. */
  async cancelDistribution(packageId: string, dpRef: string): Promise<void> {
    const { dp } = await this.targeted(packageId, dpRef);
    await this.d.queue.cancel({ key: jobKey.transfer(packageId, dp.dpId) });
    const now = this.d.clock.now();
    await this.d.packages.transaction(async (trx) => {
      await this.d.targets.update(
        packageId,
        dp.dpId,
        { state: DpState.INSTALL_FAILED, lastError: 'distribution cancelled by an administrator', rate: 0 },
        now,
        trx,
      );
      await this.d.messages.add(
        {
          packageId,
          dpId: dp.dpId,
          messageId: MessageId.DISTRIBUTION_CANCELLED,
          messageState: MessageState.Error,
          severity: Severity.Warning,
          insertionStrings: [packageId, dp.name],
          time: now,
        },
        trx,
      );
    });
  }

  /** Deleting the SMS_DistributionPoint row: remove the package's content from one DP. */
  async removeContent(packageId: string, dpRef: string): Promise<void> {
    const { dp } = await this.targeted(packageId, dpRef);
    await this.markForRemoval(packageId, dp.dpId);
  }

  /** Deletes a package: its content leaves every DP first, then the package row goes. */
  async deletePackage(packageId: string): Promise<void> {
    const pkg = await this.d.packages.get(packageId);
    this.assertOwned(pkg, 'delete');
    const rows = await this.d.targets.listForPackage(packageId);
    if (rows.length === 0) {
      await this.d.queue.cancel({ key: jobKey.refresh(packageId) });
      await this.d.packages.delete(packageId);
      return;
    }
    await this.d.packages.setActionInProgress(packageId, 3);
    await this.d.queue.cancel({ key: jobKey.refresh(packageId) });
    for (const r of rows) await this.markForRemoval(packageId, r.dpId);
  }

  private async markForRemoval(packageId: string, dpId: number): Promise<void> {
    await this.d.queue.cancel({ key: jobKey.transfer(packageId, dpId) });
    await this.d.queue.cancel({ key: jobKey.verify(packageId, dpId) });
    const now = this.d.clock.now();
    await this.d.packages.transaction(async (trx) => {
      await this.d.targets.update(
        packageId,
        dpId,
        { state: DpState.REMOVAL_PENDING, status: DpTargetStatus.Deleted, lastError: null, attempts: 0 },
        now,
        trx,
      );
      await this.d.queue.enqueue(
        { kind: JobKind.Remove, key: jobKey.remove(packageId, dpId), packageId, payload: { dpId } },
        trx,
      );
    });
  }

  private async enqueueTransfer(
    pkg: Package,
    dp: DistributionPoint,
    mode: TransferMode,
    trx: Parameters<DistributionDeps['queue']['enqueue']>[1],
    repair = false,
  ): Promise<void> {
    await this.d.queue.enqueue(
      {
        kind: JobKind.Transfer,
        key: jobKey.transfer(pkg.packageId, dp.dpId),
        packageId: pkg.packageId,
        payload: { dpId: dp.dpId, mode, repair },
        priority: pkg.priority,
      },
      trx,
    );
  }

  private async targeted(
    packageId: string,
    dpRef: string,
  ): Promise<{ pkg: Package; dp: DistributionPoint; row: PackageDp }> {
    const pkg = await this.d.packages.get(packageId);
    const dp = await this.d.dps.get(dpRef);
    const row = await this.d.targets.find(packageId, dp.dpId);
    if (!row) {
      throw new SitecastError(
        'NOT_FOUND',
        `package ${packageId} is not targeted to distribution point ${dp.name}`,
        { field: 'NALPath' },
      );
    }
    return { pkg, dp, row };
  }

  private assertOwned(pkg: Package, what: string): void {
    if (pkg.sourceSite !== this.d.siteCode) {
      throw new SitecastError(
        'NOT_SOURCE_SITE',
        `package ${pkg.packageId} is owned by site ${pkg.sourceSite}; only that site may ${what} it (this is ${this.d.siteCode})`,
        { field: 'SourceSite', owner: pkg.sourceSite },
      );
    }
  }
}
