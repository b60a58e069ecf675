import { missedRun, readScheduleString, systemTimeZone } from '../schedule/index.js';
import { JobKind, jobKey, type DistributionDeps } from './deps.js';
import type { DpRepository } from './dp.repository.js';

export interface DistributionSchedulerOptions {
  /** How often schedules are looked at; default 30 s. */
  readonly pollMs?: number;
  /** IANA zone of local-time schedule tokens; default the deps' zone, else the server's. */
  readonly timeZone?: string;
}

/**
 * The site's scheduler. Runs packages' RefreshSchedule (reference §1): when a slot has passed since it last
 * looked, it queues a *scheduled* refresh, which makes a version only if the source changed (stat cache,
 * then content). Runs DPs' content validation schedules: every package a DP holds is re-hashed there, at
 * the lowest priority, and repaired when the DP is set to. Slots missed while the server was down make one
 * run at start-up, not one per slot.
 */
export class DistributionScheduler {
  readonly #pollMs: number;
  readonly #timeZone: string;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly d: DistributionDeps,
    private readonly dpRepo: DpRepository,
    options: DistributionSchedulerOptions = {},
  ) {
    this.#pollMs = options.pollMs ?? 30_000;
    this.#timeZone = options.timeZone ?? d.timeZone ?? systemTimeZone();
  }

  /** One look at every schedule: refreshes, then validations. */
  async tick(): Promise<{ readonly refreshes: string[]; readonly validations: string[] }> {
    return { refreshes: await this.refreshTick(), validations: await this.validationTick() };
  }

  /** Queues a verify job (lowest priority) for each package on each DP whose validation slot passed. */
  async validationTick(): Promise<string[]> {
    const now = this.d.clock.now();
    const queued: string[] = [];
    for (const dp of await this.d.dps.list()) {
      const v = dp.validation;
      if (!v?.schedule) continue;
      let slot: number | null;
      try {
        slot = missedRun(readScheduleString(v.schedule), v.checkedAt ?? dp.createdAt, now, this.#timeZone);
      } catch (e) {
        this.d.log?.(`validation schedule of ${dp.name} cannot be read: ${(e as Error).message}`);
        continue;
      }
      if (slot === null) continue;
      const held = (await this.d.targets.listForDp(dp.dpId)).filter((r) => r.installedVersion > 0);
      for (const row of held) {
        await this.d.queue.enqueue({
          kind: JobKind.Verify,
          key: jobKey.verify(row.packageId, dp.dpId),
          packageId: row.packageId,
          payload: { dpId: dp.dpId, repair: v.repair },
          priority: 3,
        });
        queued.push(`${row.packageId}@${dp.name}`);
      }
      await this.dpRepo.setValidationCheckedAt(dp.dpId, now);
      this.d.log?.(
        `validation schedule of ${dp.name}: slot ${new Date(slot).toISOString()} passed; ${held.length} package(s) queued for validation${v.repair ? ' with repair' : ''}`,
      );
    }
    return queued;
  }

  /** Queues a scheduled refresh for each package whose RefreshSchedule slot passed. */
  async refreshTick(): Promise<string[]> {
    const now = this.d.clock.now();
    const queued: string[] = [];
    for (const pkg of await this.d.packages.listScheduled()) {
      const since = pkg.scheduleCheckedAt ?? pkg.createdAt;
      let slot: number | null;
      try {
        slot = missedRun(readScheduleString(pkg.refreshSchedule!), since, now, this.#timeZone);
      } catch (e) {
        this.d.log?.(`refresh schedule of ${pkg.packageId} cannot be read: ${(e as Error).message}`);
        continue;
      }
      if (slot === null) continue;
      // A refresh already queued or running (an admin's RefreshPkgSource) covers this slot. (Read outside the
      // transaction: SQLite has one connection. Should an explicit refresh slip in between, it still forces a
      // version: the refresh job treats a run as scheduled only while ActionInProgress is not 1.)
      const pending = await this.d.queue.list({ key: jobKey.refresh(pkg.packageId) });
      const covered = pending.some((j) => j.state === 'queued' || j.state === 'running');
      await this.d.packages.transaction(async (trx) => {
        if (!covered) {
          await this.d.queue.enqueue(
            {
              kind: JobKind.Refresh,
              key: jobKey.refresh(pkg.packageId),
              packageId: pkg.packageId,
              payload: { trigger: 'schedule' },
              priority: pkg.priority,
            },
            trx,
          );
          queued.push(pkg.packageId);
        }
        await this.d.packages.markScheduleChecked(pkg.packageId, now, trx);
      });
      this.d.log?.(
        `refresh schedule of ${pkg.packageId}: slot ${new Date(slot).toISOString()} passed; scheduled refresh ${queued.includes(pkg.packageId) ? 'queued' : 'covered by a refresh already queued'}`,
      );
    }
    return queued;
  }

  start(): void {
    if (this.#loop) return;
    const stop = (this.#stop = new AbortController());
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.tick();
        } catch (e) {
          this.d.log?.(`scheduler: ${(e as Error).message}; trying again in ${this.#pollMs / 1000} s`);
        }
        try {
          await this.d.clock.sleep(this.#pollMs, stop.signal);
        } catch {
          return;
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }
}
