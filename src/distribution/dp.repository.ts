import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { Database, DistributionPointTable } from '../db/index.js';
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
}

export const dpConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local'), root: z.string().min(1) }),
  z.object({ kind: z.literal('http'), url: z.string().url(), secret: z.string() }),
]);
export type DpConfig = z.infer<typeof dpConfigSchema>;

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

  async delete(dpId: number): Promise<void> {
    await this.db.deleteFrom('distribution_point').where('dp_id', '=', dpId).execute();
  }
}
