import { randomUUID } from 'node:crypto';
import type { PackageService } from '../catalog/index.js';
import { SitecastError, type Clock } from '../kernel/index.js';
import type { DistributionService } from './distribution.service.js';
import type { DpGroup, DpGroupRepository } from './dp-group.repository.js';
import type { DpRegistry } from './dp-registry.service.js';
import type { DistributionPoint } from './dp.repository.js';
import type { PackageDpRepository } from './package-dp.repository.js';
import { DpState } from './dp-state.js';

export interface DpGroupInput {
  readonly name: string;
  readonly description?: string;
}

/** A group with its members and packages (SMS_DistributionPointGroup plus its two association classes). */
export interface DpGroupDetail extends DpGroup {
  readonly members: readonly DistributionPoint[];
  readonly packageIds: readonly string[];
  /** Member × package pairs not installed yet (targeted and in progress, failed, or not targeted at all). */
  readonly outOfSync: number;
}

const MAX_NAME = 255;

/**
 * SMS_DistributionPointGroup (reference §3): distributing to a group reaches every member, and a DP that
 * joins later receives the group's packages. Membership is recorded first, in one transaction; the
 * distribution that follows goes through DistributionService, so a crash in between leaves a member
 * without some package: RefreshDPGroup (and the outOfSync count) catches that up.
 */
export class DpGroupService {
  constructor(
    private readonly groups: DpGroupRepository,
    private readonly dps: DpRegistry,
    private readonly targets: PackageDpRepository,
    private readonly packages: PackageService,
    private readonly distribution: DistributionService,
    private readonly clock: Clock,
  ) {}

  async create(input: DpGroupInput): Promise<DpGroup> {
    const name = checkName(input.name);
    if (await this.groups.findByRef(name)) {
      throw new SitecastError(
        'ALREADY_EXISTS',
        `distribution point group ${JSON.stringify(name)} already exists`,
        {
          field: 'Name',
        },
      );
    }
    const groupId = `{${randomUUID().toUpperCase()}}`;
    await this.groups.insert({
      groupId,
      name,
      description: input.description ?? '',
      createdAt: this.clock.now(),
    });
    return this.get(groupId);
  }

  list(): Promise<DpGroup[]> {
    return this.groups.list();
  }

  /** A group by GUID or name; NOT_FOUND naming the reference otherwise. */
  async get(ref: string): Promise<DpGroup> {
    const group = await this.groups.findByRef(ref);
    if (!group) {
      throw new SitecastError('NOT_FOUND', `distribution point group ${JSON.stringify(ref)} does not exist`, {
        field: 'GroupID',
      });
    }
    return group;
  }

  async detail(ref: string): Promise<DpGroupDetail> {
    const group = await this.get(ref);
    const memberIds = await this.groups.memberIds(group.groupId);
    const members = await Promise.all(memberIds.map((id) => this.dps.get(id)));
    const packageIds = await this.groups.packageIds(group.groupId);
    let outOfSync = 0;
    for (const packageId of packageIds) {
      const rows = new Map((await this.targets.listForPackage(packageId)).map((r) => [r.dpId, r]));
      for (const id of memberIds) if (rows.get(id)?.state !== DpState.INSTALLED) outOfSync++;
    }
    return { ...group, members: members.sort((a, b) => a.name.localeCompare(b.name)), packageIds, outOfSync };
  }

  async update(
    ref: string,
    patch: { readonly name?: string; readonly description?: string },
  ): Promise<DpGroup> {
    const group = await this.get(ref);
    const name = patch.name === undefined ? undefined : checkName(patch.name);
    if (
      name !== undefined &&
      name.toLowerCase() !== group.name.toLowerCase() &&
      (await this.groups.findByRef(name))
    ) {
      throw new SitecastError(
        'ALREADY_EXISTS',
        `distribution point group ${JSON.stringify(name)} already exists`,
        {
          field: 'Name',
        },
      );
    }
    await this.groups.update(group.groupId, { name, description: patch.description }, this.clock.now());
    return this.get(group.groupId);
  }

  /** Deletes the group; content stays on its DPs (as in Configuration Manager). */
  async delete(ref: string): Promise<void> {
    const group = await this.get(ref);
    await this.groups.delete(group.groupId);
  }

  /** AddDistributionPoints: new members receive every package of the group. */
  async addDistributionPoints(ref: string, dpRefs: readonly string[]): Promise<{ readonly added: number }> {
    const group = await this.get(ref);
    const dps = await this.resolveDps(dpRefs);
    const fresh = await this.groups.transaction(async (trx) => {
      const ids = await this.groups.addMembers(
        group.groupId,
        dps.map((d) => d.dpId),
        this.clock.now(),
        trx,
      );
      await this.groups.touch(group.groupId, this.clock.now(), trx);
      return ids;
    });
    const packageIds = await this.groups.packageIds(group.groupId);
    for (const packageId of packageIds) {
      await this.targetMissing(
        packageId,
        dps.filter((d) => fresh.includes(d.dpId)),
      );
    }
    return { added: fresh.length };
  }

  /** RemoveDistributionPoints: the DPs leave the group; what they hold stays (remove content per package). */
  async removeDistributionPoints(ref: string, dpRefs: readonly string[]): Promise<void> {
    const group = await this.get(ref);
    const dps = await this.resolveDps(dpRefs);
    await this.groups.removeMembers(
      group.groupId,
      dps.map((d) => d.dpId),
    );
    await this.groups.touch(group.groupId, this.clock.now());
  }

  /** AddPackages (also `content distribute --dp-group`): the packages go to every member. */
  async addPackages(ref: string, packageIds: readonly string[]): Promise<{ readonly added: number }> {
    const group = await this.get(ref);
    if (packageIds.length === 0) {
      throw new SitecastError('INVALID_PARAMETER', 'no package given', { field: 'PackageIDs' });
    }
    for (const id of packageIds) await this.packages.get(id);
    const fresh = await this.groups.transaction(async (trx) => {
      const ids = await this.groups.addPackages(group.groupId, packageIds, this.clock.now(), trx);
      await this.groups.touch(group.groupId, this.clock.now(), trx);
      return ids;
    });
    const members = await this.members(group.groupId);
    for (const packageId of packageIds) await this.targetMissing(packageId, members);
    return { added: fresh.length };
  }

  /**
   * RemovePackages: the packages leave the group and their content is removed from its members, except
   * from a member that another group still assigns the package to.
   */
  async removePackages(ref: string, packageIds: readonly string[]): Promise<void> {
    const group = await this.get(ref);
    const held = new Set(await this.groups.packageIds(group.groupId));
    const notInGroup = packageIds.filter((id) => !held.has(id));
    if (notInGroup.length > 0) {
      throw new SitecastError(
        'NOT_FOUND',
        `package(s) ${notInGroup.join(', ')} are not assigned to distribution point group ${group.name}`,
        { field: 'PackageIDs' },
      );
    }
    await this.groups.removePackages(group.groupId, packageIds);
    await this.groups.touch(group.groupId, this.clock.now());
    const members = await this.members(group.groupId);
    for (const packageId of packageIds) {
      const targeted = new Set((await this.targets.listForPackage(packageId)).map((r) => r.dpId));
      for (const dp of members) {
        if (!targeted.has(dp.dpId)) continue;
        if (await this.groups.assignedElsewhere(packageId, dp.dpId, group.groupId)) continue;
        await this.distribution.removeContent(packageId, dp.name);
      }
    }
  }

  /** ReDistributePackage: everything again to every member, overwriting what each has. */
  async reDistributePackage(ref: string, packageId: string): Promise<{ readonly dps: number }> {
    const group = await this.get(ref);
    await this.packages.get(packageId);
    if (!(await this.groups.packageIds(group.groupId)).includes(packageId)) {
      throw new SitecastError(
        'NOT_FOUND',
        `package ${packageId} is not assigned to distribution point group ${group.name}`,
        { field: 'PackageID' },
      );
    }
    const members = await this.members(group.groupId);
    await this.targetMissing(packageId, members);
    const targeted = new Set((await this.targets.listForPackage(packageId)).map((r) => r.dpId));
    for (const dp of members)
      if (targeted.has(dp.dpId)) await this.distribution.redistribute(packageId, dp.name);
    return { dps: members.length };
  }

  /** RefreshDPGroup: every member gets every package of the group it does not hold or is not getting. */
  async refreshDPGroup(ref: string): Promise<{ readonly targeted: number }> {
    const group = await this.get(ref);
    const members = await this.members(group.groupId);
    let targeted = 0;
    for (const packageId of await this.groups.packageIds(group.groupId)) {
      targeted += await this.targetMissing(packageId, members);
    }
    return { targeted };
  }

  /** Targets `packageId` to those of `dps` that do not have it targeted yet; returns how many. */
  private async targetMissing(packageId: string, dps: readonly DistributionPoint[]): Promise<number> {
    if (dps.length === 0) return 0;
    const targeted = new Set((await this.targets.listForPackage(packageId)).map((r) => r.dpId));
    const missing = dps.filter((d) => !targeted.has(d.dpId));
    if (missing.length > 0) {
      await this.distribution.addDistributionPoints(
        packageId,
        missing.map((d) => d.name),
      );
    }
    return missing.length;
  }

  private async members(groupId: string): Promise<DistributionPoint[]> {
    const ids = await this.groups.memberIds(groupId);
    return Promise.all(ids.map((id) => this.dps.get(id)));
  }

  private async resolveDps(refs: readonly string[]): Promise<DistributionPoint[]> {
    if (refs.length === 0) {
      throw new SitecastError('INVALID_PARAMETER', 'no distribution point given', { field: 'NALPath' });
    }
    return Promise.all(refs.map((r) => this.dps.get(r)));
  }
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > MAX_NAME || [...name].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `distribution point group name ${JSON.stringify(raw)} must be 1–${MAX_NAME} printable characters`,
      { field: 'Name' },
    );
  }
  return name;
}
