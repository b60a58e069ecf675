import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { Database, DistributionPointTable } from '../db/index.js';
import {
  alwaysOpen,
  formatAvailability,
  formatRateLimit,
  parseAvailability,
  parseRateLimit,
  unlimited,
  type AvailabilityMatrix,
  type RateLimit,
} from '../bandwidth/index.js';
import { SitecastError } from '../kernel/index.js';

export interface DistributionPoint {
  readonly dpId: number;
  readonly name: string;
  readonly nalPath: string;
  readonly serverName: string;
  readonly siteCode: string;
  readonly kind: 'local' | 'http' | 's3';
  readonly config: DpConfig;
  readonly isPull: boolean;
  readonly priority: number;
  readonly maintenanceMode: boolean;
  readonly createdAt: number;
  /** Rate limit and availability window; absent on a draft = unlimited and always open. */
  readonly bandwidth?: DpBandwidth;
  /** Content validation schedule; absent on a draft = none. */
  readonly validation?: DpValidation;
  /** What the health monitor last saw; absent on a draft = never checked. */
  readonly health?: DpHealthRecord;
}

/** `unknown` until the health monitor first probes the DP. */
export type DpHealthState = 'unknown' | 'online' | 'degraded' | 'offline';

export interface DpHealthRecord {
  readonly state: DpHealthState;
  /** Why it was last degraded or offline; kept after it recovers (the last error, not the current one). */
  readonly lastError: string | null;
  /** When the DP last answered: a successful probe or transfer. */
  readonly lastContactAt: number | null;
  /** When the monitor last probed it. */
  readonly checkedAt: number | null;
  /** Free bytes on its volume at the last successful probe. */
  readonly freeBytes: number | null;
  /** The error of its last transfer; null when that transfer succeeded (or there was none). */
  readonly transferError: string | null;
}

/** One probe's outcome as the monitor records it. */
export interface DpHealthCheck {
  readonly state: Exclude<DpHealthState, 'unknown'>;
  /** Set when degraded or offline; the previous error is kept otherwise. */
  readonly error?: string;
  /** Set when the DP answered. */
  readonly freeBytes?: number;
  readonly reachable: boolean;
  readonly at: number;
}

const healthStates: readonly string[] = ['online', 'degraded', 'offline'];
// PostgreSQL bigints are parsed to numbers by the connection; Number() keeps any other driver honest.
const numOrNull = (v: number | null): number | null => (v === null ? null : Number(v));

function toHealth(r: Selectable<DistributionPointTable>): DpHealthRecord {
  return {
    state:
      r.health_state !== null && healthStates.includes(r.health_state)
        ? (r.health_state as DpHealthState)
        : 'unknown',
    lastError: r.health_error,
    lastContactAt: numOrNull(r.health_contact_at),
    checkedAt: numOrNull(r.health_checked_at),
    freeBytes: numOrNull(r.health_free_bytes),
    transferError: r.transfer_error,
  };
}

export interface DpValidation {
  /** Schedule string (16 hex digits per SMS_ScheduleToken), null when none. */
  readonly schedule: string | null;
  /** Repair what a scheduled validation finds bad (fetch it again) without an admin's RefreshNow. */
  readonly repair: boolean;
  /** When the scheduler last looked at the schedule. */
  readonly checkedAt: number | null;
}

export interface DpBandwidth {
  readonly rateLimit: RateLimit;
  readonly availability: AvailabilityMatrix;
  /** IANA zone the matrix and hourly limits are read in; null = the site server's zone. */
  readonly timeZone: string | null;
}

export const defaultBandwidth: DpBandwidth = {
  rateLimit: unlimited,
  availability: alwaysOpen,
  timeZone: null,
};

function toBandwidth(r: Selectable<DistributionPointTable>): DpBandwidth {
  try {
    return {
      rateLimit: parseRateLimit(r.rate_limit),
      availability: parseAvailability(r.availability),
      timeZone: r.time_zone,
    };
  } catch (e) {
    throw new SitecastError(
      'CORRUPT_DATA',
      `distribution point ${r.name} has unreadable bandwidth settings`,
      {
        field: 'RateLimit',
      },
      { cause: e },
    );
  }
}

/** Where a pull DP fetches from: another DP (by name) or the site itself, rank 1 first. */
export const pullSourceRefSchema = z.object({
  dp: z.string().min(1),
  rank: z.number().int().min(1).max(1000),
});
export type PullSourceRef = z.infer<typeof pullSourceRefSchema>;
/** The sources of a pull DP that names none. */
export const defaultPullSources: readonly PullSourceRef[] = [{ dp: 'site', rank: 1 }];

export const dpConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local'), root: z.string().min(1) }),
  z.object({
    kind: z.literal('http'),
    url: z.string().url(),
    secret: z.string(),
    /** Pull DPs only; absent = `defaultPullSources`. */
    sources: z.array(pullSourceRefSchema).optional(),
    /** Pull DPs sourcing from the site: the base URL at which the DP reaches the site's chunk routes. */
    siteUrl: z.string().url().optional(),
  }),
]);
export type DpConfig = z.infer<typeof dpConfigSchema>;

/** The ranked sources of a pull DP (the default when its config names none). */
export function pullSourcesOf(dp: DistributionPoint): readonly PullSourceRef[] {
  return dp.config.kind === 'http' ? (dp.config.sources ?? defaultPullSources) : [];
}

function toDp(r: Selectable<DistributionPointTable>): DistributionPoint {
  const parsed = dpConfigSchema.safeParse(JSON.parse(r.config));
  if (!parsed.success) {
    throw new SitecastError('CORRUPT_DATA', `distribution point ${r.name} has an unreadable configuration`, {
      field: 'config',
    });
  }
  return {
    dpId: r.dp_id,
    name: r.name,
    nalPath: r.nal_path,
    serverName: r.server_name,
    siteCode: r.site_code,
    kind: r.kind as DistributionPoint['kind'],
    config: parsed.data,
    isPull: r.is_pull !== 0,
    priority: r.priority,
    maintenanceMode: r.maintenance_mode !== 0,
    createdAt: r.created_at,
    bandwidth: toBandwidth(r),
    validation: {
      schedule: r.validation_schedule,
      repair: r.validation_repair !== 0,
      checkedAt: r.validation_checked_at === null ? null : Number(r.validation_checked_at),
    },
    health: toHealth(r),
  };
}

/**
 * Configuration Manager's NAL path for a DP server: `["Display=\\DP01\"]MSWNET:["SMS_SITE=PS1"]\\DP01\`.
 * Scripts pass it to AddDistributionPoints and VerifyPackage, so we keep its exact shape.
 */
export function nalPathOf(serverName: string, siteCode: string): string {
  return `["Display=\\\\${serverName}\\"]MSWNET:["SMS_SITE=${siteCode}"]\\\\${serverName}\\`;
}

export class DpRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(dp: Omit<DistributionPoint, 'dpId'>): Promise<DistributionPoint> {
    const row = await this.db
      .insertInto('distribution_point')
      .values({
        name: dp.name,
        nal_path: dp.nalPath,
        server_name: dp.serverName,
        site_code: dp.siteCode,
        kind: dp.kind,
        config: JSON.stringify(dp.config),
        is_pull: dp.isPull ? 1 : 0,
        priority: dp.priority,
        maintenance_mode: dp.maintenanceMode ? 1 : 0,
        created_at: dp.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toDp(row);
  }

  async list(): Promise<DistributionPoint[]> {
    return (await this.db.selectFrom('distribution_point').selectAll().orderBy('name').execute()).map(toDp);
  }

  async findById(dpId: number): Promise<DistributionPoint | undefined> {
    const row = await this.db
      .selectFrom('distribution_point')
      .selectAll()
      .where('dp_id', '=', dpId)
      .executeTakeFirst();
    return row ? toDp(row) : undefined;
  }

  /** By name, server name or NAL path (case-insensitive: Windows server names are); indexed on lower(). */
  async findByRef(ref: string): Promise<DistributionPoint | undefined> {
    const lower = ref.toLowerCase();
    const row = await this.db
      .selectFrom('distribution_point')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb(eb.fn('lower', ['name']), '=', lower),
          eb(eb.fn('lower', ['server_name']), '=', lower),
          eb(eb.fn('lower', ['nal_path']), '=', lower),
        ]),
      )
      .orderBy('dp_id')
      .executeTakeFirst();
    return row ? toDp(row) : undefined;
  }

  async setBandwidth(dpId: number, b: DpBandwidth): Promise<void> {
    await this.db
      .updateTable('distribution_point')
      .set({
        rate_limit: formatRateLimit(b.rateLimit),
        availability: formatAvailability(b.availability),
        time_zone: b.timeZone,
      })
      .where('dp_id', '=', dpId)
      .execute();
  }

  async setConfig(dpId: number, config: DpConfig): Promise<void> {
    await this.db
      .updateTable('distribution_point')
      .set({ config: JSON.stringify(config) })
      .where('dp_id', '=', dpId)
      .execute();
  }

  /** A new schedule counts from `now` (slots before it are not "missed"). */
  async setValidation(dpId: number, schedule: string | null, repair: boolean, now: number): Promise<void> {
    await this.db
      .updateTable('distribution_point')
      .set({ validation_schedule: schedule, validation_repair: repair ? 1 : 0, validation_checked_at: now })
      .where('dp_id', '=', dpId)
      .execute();
  }

  async setValidationCheckedAt(dpId: number, at: number): Promise<void> {
    await this.db
      .updateTable('distribution_point')
      .set({ validation_checked_at: at })
      .where('dp_id', '=', dpId)
      .execute();
  }

  async setMaintenanceMode(dpId: number, on: boolean): Promise<void> {
    await this.db
      .updateTable('distribution_point')
      .set({ maintenance_mode: on ? 1 : 0 })
      .where('dp_id', '=', dpId)
      .execute();
  }

  /** Records a health probe: last contact and free space only when it answered, the error only when there is one. */
  async recordHealth(dpId: number, check: DpHealthCheck): Promise<void> {
    await this.db
      .updateTable('distribution_point')
      .set({
        health_state: check.state,
        health_checked_at: check.at,
        ...(check.error !== undefined && { health_error: check.error }),
        ...(check.reachable && { health_contact_at: check.at }),
        ...(check.freeBytes !== undefined && { health_free_bytes: check.freeBytes }),
      })
      .where('dp_id', '=', dpId)
      .execute();
  }

  /**
   * Records how a transfer to the DP ended: `error` null when it succeeded, which also counts as contact.
   * The health monitor reads it on its next probe (a DP that answers but fails transfers is degraded).
   */
  async recordTransfer(dpId: number, error: string | null, at: number): Promise<void> {
    await this.db
      .updateTable('distribution_point')
      .set({ transfer_error: error, ...(error === null && { health_contact_at: at }) })
      .where('dp_id', '=', dpId)
      .execute();
  }

  async delete(dpId: number): Promise<void> {
    await this.db.deleteFrom('distribution_point').where('dp_id', '=', dpId).execute();
  }
}
