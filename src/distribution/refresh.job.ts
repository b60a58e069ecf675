import { checkSource, PackageType, PkgSourceFlag, readImageMetadata } from '../catalog/index.js';
import { decodeManifest, sameStats, statSource, type Manifest } from '../content/index.js';
import type { Job, JobHandler } from '../jobs/index.js';
import { willRetry } from '../jobs/index.js';
import { SitecastError, toSitecastError } from '../kernel/index.js';
import { DpState, MessageId, MessageState, Severity } from './dp-state.js';
import type { DistributionDeps } from './deps.js';
import { rollOutVersion } from './version-rollout.js';

/**
 * The refresh job: snapshot the source, then in ONE transaction record the version (SourceVersion + 1),
 * point every targeted DP at it and queue their transfers (invariant 3). A re-run of the same job after a
 * crash finds its version (by job id) and does not create another.
 */
export function refreshJobHandler(d: DistributionDeps): JobHandler {
  return async (job: Job, ctx) => {
    const packageId = job.packageId!;
    const pkg = await d.packages.find(packageId);
    if (!pkg) return; // deleted meanwhile: nothing to refresh
    if (await d.packages.findVersionByJob(packageId, job.id)) return; // committed before a crash
    try {
      if (pkg.sourceSite !== d.siteCode) {
        throw new SitecastError(
          'NOT_SOURCE_SITE',
          `package ${packageId} is owned by site ${pkg.sourceSite}`,
          { field: 'SourceSite' },
        );
      }
      if (pkg.pkgSourceFlag !== PkgSourceFlag.Direct || !pkg.pkgSourcePath) {
        throw new SitecastError('NO_SOURCE', `package ${packageId} has no source to refresh`, {
          field: 'PkgSourcePath',
        });
      }
      await checkSource(pkg.pkgSourcePath, pkg.packageType);
      // Stats first (the stat cache of the new version is what the source looked like BEFORE it was read).
      const stats = await statSource(pkg.pkgSourcePath, ctx.signal);
      // An admin's RefreshPkgSource (ActionInProgress 1) always makes a version, even if it coalesced with a
      // scheduled run.
      const scheduled =
        (job.payload as RefreshPayload | null)?.trigger === 'schedule' && pkg.actionInProgress !== 1;
      if (scheduled && pkg.sourceVersion > 0) {
        const cached = await d.library.statCache.get(packageId);
        if (cached && sameStats(cached, stats)) {
          d.log?.(`refresh ${packageId}: scheduled run found ${pkg.pkgSourcePath} unchanged; no new version`);
          return;
        }
      }
      // An image package's WIM must still parse before gigabytes are read; a WIM that no longer does fails
      // the refresh with the reader's error and creates no version.
      const isImage = pkg.packageType === PackageType.SMS_ImagePackage;
      const wim = isImage
        ? await readImageMetadata(pkg.pkgSourcePath, 'PkgSourcePath', ctx.signal)
        : undefined;
      d.log?.(
        `refresh ${packageId}: snapshot of ${pkg.pkgSourcePath} for SourceVersion ${pkg.sourceVersion + 1}`,
      );
      const snap = await d.library.snapshot(pkg.pkgSourcePath, {
        packageId,
        sourceVersion: pkg.sourceVersion + 1,
        signal: ctx.signal,
        onProgress: (e) => {
          d.onProgress?.(e);
        },
      });
      await ctx.heartbeat();
      if (
        scheduled &&
        pkg.sourceVersion > 0 &&
        (await sameContentAsCurrent(d, packageId, pkg.sourceVersion, snap.manifest))
      ) {
        // Touched but not changed (same bytes everywhere): remember the new stats, make no version.
        await d.library.statCache.put(packageId, stats);
        d.log?.(
          `refresh ${packageId}: scheduled run found the same content in ${pkg.pkgSourcePath}; no new version`,
        );
        return;
      }
      if (wim) {
        // The metadata recorded with the version must describe the bytes snapshotted: read it again and
        // refuse a WIM rewritten in between (the snapshot itself only guards its own reads).
        const after = await readImageMetadata(pkg.pkgSourcePath, 'PkgSourcePath', ctx.signal);
        if (after.xml !== wim.xml || after.fileSize !== wim.fileSize) {
          throw new SitecastError(
            'SOURCE_CHANGING',
            `${pkg.pkgSourcePath} was rewritten while it was snapshotted`,
            { field: 'PkgSourcePath', path: pkg.pkgSourcePath },
          );
        }
      }
      const now = d.clock.now();
      const version = await d.packages.transaction(async (trx) => {
        const v = await d.packages.commitVersion(
          {
            packageId,
            previousVersion: pkg.sourceVersion,
            manifestId: snap.manifestId,
            totalBytes: snap.totalBytes,
            fileCount: snap.fileCount,
            chunkCount: snap.chunkCount,
            jobId: job.id,
          },
          trx,
        );
        // ImageProperty and SMS_ImageInformation move with SourceVersion (same transaction).
        if (wim) await d.packages.recordImageMetadata(packageId, wim, trx);
        await d.packages.setActionInProgress(packageId, 0, trx);
        const info = (messageId: number, strings: string[]) =>
          d.messages.add(
            {
              packageId,
              dpId: null,
              messageId,
              messageState: MessageState.Success,
              severity: Severity.Informational,
              insertionStrings: strings,
              time: now,
            },
            trx,
          );
        await info(MessageId.SNAPSHOT_CREATED, [
          packageId,
          pkg.pkgSourcePath!,
          String(v.sourceVersion),
          String(snap.totalBytes),
          String(snap.newBytes),
        ]);
        await info(MessageId.PACKAGE_UPDATED, [packageId]);
        await info(MessageId.PACKAGE_PROCESSED, [packageId, String(v.sourceVersion)]);
        // Targeted DPs, GC and child sites move to the new version in the same transaction.
        await rollOutVersion(
          d,
          { packageId, sourceVersion: v.sourceVersion, priority: pkg.priority },
          now,
          trx,
        );
        return v;
      });
      await d.library.statCache.put(packageId, stats);
      d.log?.(
        `refresh ${packageId}: SourceVersion ${version.sourceVersion} recorded (${snap.totalBytes} bytes, ${snap.newBytes} new)`,
      );
    } catch (e) {
      const err = toSitecastError(e, `refresh of ${packageId}`);
      if (!willRetry(job, err) && !ctx.signal.aborted) {
        const now = d.clock.now();
        await d.packages.transaction(async (trx) => {
          await d.packages.setActionInProgress(packageId, 0, trx);
          await d.messages.add(
            {
              packageId,
              dpId: null,
              messageId: MessageId.PACKAGE_FAILED,
              messageState: MessageState.Error,
              severity: Severity.Error,
              insertionStrings: [packageId, `${err.hex} ${err.message}`],
              time: now,
            },
            trx,
          );
          // DPs waiting for a first version have nothing to serve: say so on them instead of "pending".
          // DPs holding an earlier version keep serving it and keep their state.
          for (const t of await d.targets.listForPackage(packageId, trx)) {
            if (t.installedVersion === 0 && t.state === DpState.INSTALL_PENDING) {
              await d.targets.update(
                packageId,
                t.dpId,
                {
                  state: DpState.INSTALL_FAILED,
                  lastError: `package processing failed: ${err.hex} ${err.message}`,
                },
                now,
                trx,
              );
            }
          }
        });
      }
      throw err;
    }
  };
}

interface RefreshPayload {
  /** 'schedule': a RefreshSchedule run, which makes a version only if the source changed. */
  readonly trigger?: 'schedule' | 'explicit';
}

/** Whether `next` holds the same files, bytes and modes as the package's current version (mtimes aside). */
async function sameContentAsCurrent(
  d: DistributionDeps,
  packageId: string,
  sourceVersion: number,
  next: Manifest,
): Promise<boolean> {
  const current = await d.packages.findVersion(packageId, sourceVersion);
  if (!current) return false;
  const old = decodeManifest(
    await d.library.manifests.getManifestBytes(current.manifestId),
    current.manifestId,
  );
  const shape = (m: Manifest): string =>
    JSON.stringify([m.directories, m.files.map((f) => [f.path, f.size, f.mode, f.chunks.map((c) => c.id)])]);
  return shape(old) === shape(next);
}
