import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, DpGroupTable } from '../db/index.js';

type Db = Kysely<Database> | Transaction<Database>;

/** SMS_DistributionPointGroup as stored, with its counts. */
export interface DpGroup {
  /** `{GUID}`, upper case. */
  readonly groupId: string;
  readonly name: string;
  readonly description: string;
  readonly createdAt: number;
  readonly modifiedAt: number;
  readonly memberCount: number;
  readonly contentCount: number;
}

export class DpGroupRepository {
  constructor(private readonly db: Kysely<Database>) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  async insert(
    group: Pick<DpGroup, 'groupId' | 'name' | 'description' | 'createdAt'>,
    trx: Db = this.db,
  ): Promise<void> {
    await trx
      .insertInto('dp_group')
      .values({
        group_id: group.groupId,
        name: group.name,
        name_key: group.name.toLowerCase(),
        description: group.description,
        created_at: group.createdAt,
        modified_at: group.createdAt,
      })
      .execute();
  }

  /** By GUID or by name, both case-insensitive. */
  async findByRef(ref: string, trx: Db = this.db): Promise<DpGroup | undefined> {
    const key = ref.toLowerCase();
    const row = await trx
      .selectFrom('dp_group')
      .selectAll()
      .where((eb) => eb.or([eb('name_key', '=', key), eb('group_id', '=', ref.toUpperCase())]))
      .executeTakeFirst();
    return row ? (await this.withCounts([row], trx))[0] : undefined;
  }

  async list(trx: Db = this.db): Promise<DpGroup[]> {
    const rows = await trx.selectFrom('dp_group').selectAll().orderBy('name_key').execute();
    return this.withCounts(rows, trx);
  }

  async update(
    groupId: string,
    patch: { readonly name?: string; readonly description?: string },
    now: number,
    trx: Db = this.db,
  ): Promise<void> {
    await trx
      .updateTable('dp_group')
      .set({
        ...(patch.name !== undefined ? { name: patch.name, name_key: patch.name.toLowerCase() } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        modified_at: now,
      })
      .where('group_id', '=', groupId)
      .execute();
  }

  async touch(groupId: string, now: number, trx: Db = this.db): Promise<void> {
    await trx.updateTable('dp_group').set({ modified_at: now }).where('group_id', '=', groupId).execute();
  }

  async delete(groupId: string, trx: Db = this.db): Promise<void> {
    await trx.deleteFrom('dp_group').where('group_id', '=', groupId).execute();
  }

  /** Adds members; returns the DP ids that were not members yet. */
  async addMembers(groupId: string, dpIds: readonly number[], now: number, trx: Db): Promise<number[]> {
    const existing = new Set(await this.memberIds(groupId, trx));
    const fresh = [...new Set(dpIds)].filter((id) => !existing.has(id));
    if (fresh.length > 0) {
      await trx
        .insertInto('dp_group_member')
        .values(fresh.map((dp_id) => ({ group_id: groupId, dp_id, added_at: now })))
        .execute();
    }
    return fresh;
  }

  async removeMembers(groupId: string, dpIds: readonly number[], trx: Db = this.db): Promise<void> {
    if (dpIds.length === 0) return;
    await trx
      .deleteFrom('dp_group_member')
      .where('group_id', '=', groupId)
      .where('dp_id', 'in', [...dpIds])
      .execute();
  }

  async memberIds(groupId: string, trx: Db = this.db): Promise<number[]> {
    const rows = await trx
      .selectFrom('dp_group_member')
      .select('dp_id')
      .where('group_id', '=', groupId)
      .orderBy('dp_id')
      .execute();
    return rows.map((r) => r.dp_id);
  }

  /** Adds packages; returns the package ids that were not in the group yet. */
  async addPackages(groupId: string, packageIds: readonly string[], now: number, trx: Db): Promise<string[]> {
    const existing = new Set(await this.packageIds(groupId, trx));
    const fresh = [...new Set(packageIds)].filter((id) => !existing.has(id));
    if (fresh.length > 0) {
      await trx
        .insertInto('dp_group_package')
        .values(fresh.map((package_id) => ({ group_id: groupId, package_id, added_at: now })))
        .execute();
    }
    return fresh;
  }

  async removePackages(groupId: string, packageIds: readonly string[], trx: Db = this.db): Promise<void> {
    if (packageIds.length === 0) return;
    await trx
      .deleteFrom('dp_group_package')
      .where('group_id', '=', groupId)
      .where('package_id', 'in', [...packageIds])
      .execute();
  }

  async packageIds(groupId: string, trx: Db = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('dp_group_package')
      .select('package_id')
      .where('group_id', '=', groupId)
      .orderBy('package_id')
      .execute();
    return rows.map((r) => r.package_id);
  }

  /** Whether another group than `exceptGroupId` assigns `packageId` to the DP `dpId`. */
  async assignedElsewhere(
    packageId: string,
    dpId: number,
    exceptGroupId: string,
    trx: Db = this.db,
  ): Promise<boolean> {
    const row = await trx
      .selectFrom('dp_group_member as m')
      .innerJoin('dp_group_package as p', 'p.group_id', 'm.group_id')
      .select('m.group_id')
      .where('m.dp_id', '=', dpId)
      .where('p.package_id', '=', packageId)
      .where('m.group_id', '!=', exceptGroupId)
      .executeTakeFirst();
    return row !== undefined;
  }

  private async withCounts(rows: readonly Selectable<DpGroupTable>[], trx: Db): Promise<DpGroup[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.group_id);
    const members = await trx
      .selectFrom('dp_group_member')
      .select(['group_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('group_id', 'in', ids)
      .groupBy('group_id')
      .execute();
    const packages = await trx
      .selectFrom('dp_group_package')
      .select(['group_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('group_id', 'in', ids)
      .groupBy('group_id')
      .execute();
    const memberCount = new Map(members.map((m) => [m.group_id, Number(m.n)]));
    const contentCount = new Map(packages.map((p) => [p.group_id, Number(p.n)]));
    return rows.map((r) => ({
      groupId: r.group_id,
      name: r.name,
      description: r.description,
      createdAt: Number(r.created_at),
      modifiedAt: Number(r.modified_at),
      memberCount: memberCount.get(r.group_id) ?? 0,
      contentCount: contentCount.get(r.group_id) ?? 0,
    }));
  }
}
