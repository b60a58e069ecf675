import type { Transaction } from 'kysely';
import type { Database } from '../db/index.js';
import { DpState, DpTargetStatus } from './dp-state.js';
import { JobKind, jobKey, type DistributionDeps } from './deps.js';

const removalStates: ReadonlySet<number> = new Set([
  DpState.REMOVAL_PENDING,
  DpState.REMOVAL_RETRYING,
  DpState.REMOVAL_FAILED,
]);

export interface VersionRollout {
  readonly packageId: string;
  readonly sourceVersion: number;
  /** Package Priority, for the transfer jobs. */
  readonly priority: number;
}

/**
 * The second half of recording a version, in the caller's transaction (invariant 3): every targeted DP is
 * pointed at the new version with a transfer job, GC is scheduled, and the hierarchy hook queues the
 * replication to child sites. Shared by the owner's refresh job and a child site receiving a version.
 */
export async function rollOutVersion(
  d: DistributionDeps,
  v: VersionRollout,
  now: number,
  trx: Transaction<Database>,
): Promise<void> {
  const { packageId } = v;
  for (const t of await d.targets.listForPackage(packageId, trx)) {
    if (removalStates.has(t.state)) continue;
    await d.targets.update(
      packageId,
      t.dpId,
      {
        targetVersion: v.sourceVersion,
        state: t.installedVersion > 0 ? DpState.CONTENT_UPDATING : DpState.INSTALL_PENDING,
        status: t.installedVersion > 0 ? DpTargetStatus.Updated : DpTargetStatus.Added,
        bytesDone: 0,
        bytesTotal: 0,
        attempts: 0,
        lastError: null,
      },
      now,
      trx,
    );
    await d.queue.enqueue(
      {
        kind: JobKind.Transfer,
        key: jobKey.transfer(packageId, t.dpId),
        packageId,
        payload: { dpId: t.dpId, mode: 'update' },
        priority: v.priority,
      },
      trx,
    );
  }
  // Old versions' chunks go once no DP needs them; a short delay lets this version's transfers start.
  await d.queue.enqueue({ kind: JobKind.Gc, key: jobKey.gc(), priority: 3, runAt: now + 60_000 }, trx);
  await d.onVersionRecorded?.(packageId, v.sourceVersion, trx);
}
