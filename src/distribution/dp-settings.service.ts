import {
  parseAvailability,
  parseRateLimit,
  localDayHour,
  type AvailabilityMatrix,
  type RateLimit,
} from '../bandwidth/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Clock } from '../kernel/index.js';
import { readScheduleString, writeScheduleString } from '../schedule/index.js';
import { jobKey } from './deps.js';
import type { DpRegistry } from './dp-registry.service.js';
import { defaultBandwidth, type DistributionPoint, type DpRepository } from './dp.repository.js';
import type { PackageDpRepository } from './package-dp.repository.js';

export interface BandwidthChange {
  /** A RateLimit, or its text form ('unlimited', '4MB/s', 'pulse:64KiB/500ms', 'hourly:…'). */
  readonly rateLimit?: RateLimit | string;
  /** 168 levels, or their 168-digit text. */
  readonly availability?: AvailabilityMatrix | string;
  /** IANA time zone; null = the site server's. */
  readonly timeZone?: string | null;
}

/**
 * The per-DP settings that govern transfers: rate limits and availability (applied to every transfer the
 * DP takes part in) and maintenance mode (SMS_DistributionPointInfo.SetDPMaintenanceMode).
 */
export class DpSettingsService {
  constructor(
    private readonly dps: DpRegistry,
    private readonly repo: DpRepository,
    private readonly targets: PackageDpRepository,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
  ) {}

  /**
   * The DP's content validation schedule (a schedule string, null to clear): every package it holds is
   * re-hashed at the lowest priority; with `repair`, what fails is fetched again without an admin's RefreshNow.
   */
  async setValidationSchedule(
    ref: string,
    schedule: string | null,
    repair: boolean,
  ): Promise<DistributionPoint> {
    const dp = await this.dps.get(ref);
    const normalized =
      schedule === null || schedule.trim() === '' ? null : writeScheduleString(readScheduleString(schedule));
    await this.repo.setValidation(dp.dpId, normalized, repair, this.clock.now());
    return this.dps.get(dp.dpId);
  }

  /** Changes what is given, validating all of it first; transfers pick it up at their next batch. */
  async setBandwidth(ref: string, change: BandwidthChange): Promise<DistributionPoint> {
    const dp = await this.dps.get(ref);
    const current = dp.bandwidth ?? defaultBandwidth;
    const rateLimit =
      typeof change.rateLimit === 'string'
        ? parseRateLimit(change.rateLimit)
        : (change.rateLimit ?? current.rateLimit);
    const availability =
      typeof change.availability === 'string'
        ? parseAvailability(change.availability)
        : (change.availability ?? current.availability);
    const timeZone = change.timeZone === undefined ? current.timeZone : change.timeZone;
    // Throws INVALID_PARAMETER naming an unknown zone.
    if (timeZone !== null) localDayHour(0, timeZone);
    await this.repo.setBandwidth(dp.dpId, { rateLimit, availability, timeZone });
    // Deferred transfers look again now: the window may have opened.
    await this.expediteTransfers(dp);
    return this.dps.get(dp.dpId);
  }

  /**
   * SetDPMaintenanceMode: a DP in maintenance mode takes no new content (its transfers wait, saying so) but
   * still validates; turning it off lets the waiting transfers run at once.
   */
  async setMaintenanceMode(ref: string, on: boolean): Promise<DistributionPoint> {
    const dp = await this.dps.get(ref);
    await this.repo.setMaintenanceMode(dp.dpId, on);
    if (!on) await this.expediteTransfers(dp);
    return this.dps.get(dp.dpId);
  }

  private async expediteTransfers(dp: DistributionPoint): Promise<void> {
    for (const row of await this.targets.listForDp(dp.dpId)) {
      await this.queue.expedite({ key: jobKey.transfer(row.packageId, dp.dpId) });
    }
  }
}
