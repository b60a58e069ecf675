import type { Job, JobHandler } from '../jobs/index.js';
import { willRetry } from '../jobs/index.js';
import { toSitecastError } from '../kernel/index.js';
import { DpState, MessageId, MessageState, Severity } from './dp-state.js';
import { JobKind, jobKey, type DistributionDeps } from './deps.js';

interface DpPayload {
  readonly dpId: number;
}

interface VerifyPayload extends DpPayload {
  /** A scheduled validation of a DP set to repair: what fails is fetched again at once (RefreshNow + repair). */
  readonly repair?: boolean;
}

/** VerifyPackage: re-hash the current version on the DP; a bad result marks the DP failed with the reason. */
export function verifyJobHandler(d: DistributionDeps): JobHandler {
  return async (job: Job, ctx) => {
    const { dpId, repair = false } = job.payload as VerifyPayload;
    const packageId = job.packageId!;
    const row = await d.targets.find(packageId, dpId);
    if (!row) return;
    const dp = await d.dps.get(dpId);
    const adapter = await d.dps.adapter(dp);
    const pkg = await d.packages.find(packageId);
    const report = await adapter.verify(packageId, ctx.signal);
    const now = d.clock.now();
    const bad = report.badChunks.length + report.badFiles.length;
    await d.packages.transaction(async (trx) => {
      if (bad === 0) {
        await d.messages.add(
          {
            packageId,
            dpId,
            messageId: MessageId.VALIDATION_SUCCEEDED,
            messageState: MessageState.Success,
            severity: Severity.Informational,
            insertionStrings: [packageId, String(report.version), dp.name, String(report.bytesChecked)],
            time: now,
          },
          trx,
        );
        return;
      }
      const sample = [...report.badFiles, ...report.badChunks.map((c) => `${c.path}@${c.offset}`)]
        .slice(0, 5)
        .join(', ');
      const reason = `${report.badChunks.length} bad chunk(s), ${report.badFiles.length} missing or wrong-size file(s): ${sample}`;
      const repairing = repair && pkg !== undefined && pkg.sourceVersion > 0;
      await d.targets.update(
        packageId,
        dpId,
        repairing
          ? {
              state: DpState.CONTENT_UPDATING,
              lastError: `content validation failed: ${reason}; repairing`,
              attempts: 0,
            }
          : { state: DpState.INSTALL_FAILED, lastError: `content validation failed: ${reason}` },
        now,
        trx,
      );
      if (repairing) {
        // What RefreshNow does for a DP that is not known good: rebuild from what it has, send what is bad.
        await d.queue.enqueue(
          {
            kind: JobKind.Transfer,
            key: jobKey.transfer(packageId, dpId),
            packageId,
            payload: { dpId, mode: 'update', repair: true },
            priority: pkg.priority,
          },
          trx,
        );
      }
      await d.messages.add(
        {
          packageId,
          dpId,
          messageId: MessageId.VALIDATION_FAILED,
          messageState: MessageState.Error,
          severity: Severity.Error,
          insertionStrings: [packageId, dp.name, reason],
          time: now,
        },
        trx,
      );
    });
    d.log?.(
      `validate ${packageId} on ${dp.name}: ${bad === 0 ? 'all content verified' : `${bad} problem(s) found`}`,
    );
  };
}

/** Removes a package from one DP; the last removal of a package being deleted deletes the package. */
export function removeJobHandler(d: DistributionDeps): JobHandler {
  return async (job: Job) => {
    const { dpId } = job.payload as DpPayload;
    const packageId = job.packageId!;
    const row = await d.targets.find(packageId, dpId);
    if (!row) return;
    const dp = await d.dps.get(dpId);
    try {
      const adapter = await d.dps.adapter(dp);
      await adapter.remove(packageId);
    } catch (e) {
      const err = toSitecastError(e, `removal of ${packageId} from ${dp.name}`);
      const retrying = willRetry(job, err);
      await d.targets.update(
        packageId,
        dpId,
        {
          state: retrying ? DpState.REMOVAL_RETRYING : DpState.REMOVAL_FAILED,
          lastError: `${err.hex} ${err.message}`,
          attempts: job.attempts,
        },
        d.clock.now(),
      );
      throw err;
    }
    const now = d.clock.now();
    await d.packages.transaction(async (trx) => {
      await d.targets.delete(packageId, dpId, trx);
      await d.messages.add(
        {
          packageId,
          dpId,
          messageId: MessageId.REMOVED_FROM_DP,
          messageState: MessageState.Success,
          severity: Severity.Informational,
          insertionStrings: [packageId, dp.name],
          time: now,
        },
        trx,
      );
      const pkg = await d.packages.find(packageId, trx);
      const left = await d.targets.listForPackage(packageId, trx);
      if (pkg && pkg.actionInProgress === 3 && left.length === 0) await d.packages.delete(packageId, trx);
    });
    d.log?.(`remove ${packageId} from ${dp.name}: done`);
  };
}

/**
 * Garbage collection of the content library: live = each package's current version. Manifests written
 * recently stay too (the library's grace period), so a snapshot about to be committed is never swept.
 */
export function gcJobHandler(d: DistributionDeps): JobHandler {
  return async () => {
    const live = new Set<string>();
    for (const pkg of await d.packages.list()) {
      if (pkg.sourceVersion === 0) continue;
      const v = await d.packages.findVersion(pkg.packageId, pkg.sourceVersion);
      if (v) live.add(v.manifestId);
    }
    const r = await d.library.collectGarbage(live);
    d.log?.(
      `gc: kept ${r.chunksKept} chunks, removed ${r.chunksRemoved} (${r.bytesFreed} bytes), ${r.manifestsRemoved} manifests`,
    );
  };
}
