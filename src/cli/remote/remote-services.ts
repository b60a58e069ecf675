/** The remote DP groups, DP settings, tokens, audit log and hierarchy of a RemoteSite (see remote-site.ts). */
import { formatRateLimit } from '../../bandwidth/index.js';
import type { DistributionPoint, DpGroup } from '../../distribution/index.js';
import { SitecastError } from '../../kernel/index.js';
import type { CliSite } from '../cli-site.js';
import { odataString, type AdminClient } from './admin-client.js';
import { auditEntryOf, distributionPointOf, dpGroupOf, tokenInfoOf } from './sms-records.js';

type GetDp = (ref: string | number) => Promise<DistributionPoint>;

/** What a remote site cannot do (yet): NOT_SUPPORTED naming the command and the way round. */
export function notRemote(what: string, hint: string): SitecastError {
  return new SitecastError('NOT_SUPPORTED', `${what} is not available with --server: ${hint}`, {
    field: 'server',
  });
}

export function remoteDpGroups(client: AdminClient, getDp: GetDp): CliSite['dpGroups'] {
  const cls = 'SMS_DistributionPointGroup';
  const list = async (): Promise<DpGroup[]> => (await client.list(cls)).map(dpGroupOf);
  /** By GroupID or name, case-insensitively, as DpGroupService.get. */
  const get = async (ref: string): Promise<DpGroup> => {
    const wanted = ref.trim().toLowerCase();
    const g = (await list()).find(
      (x) => x.groupId.toLowerCase() === wanted || x.name.toLowerCase() === wanted,
    );
    if (!g) {
      throw new SitecastError('NOT_FOUND', `distribution point group ${JSON.stringify(ref)} does not exist`, {
        field: 'GroupID',
      });
    }
    return g;
  };
  const byId = (groupId: string): Record<string, string> => ({
    $filter: `GroupID eq ${odataString(groupId)}`,
  });
  return {
    async create(input) {
      return dpGroupOf(
        await client.create(cls, {
          Name: input.name,
          ...(input.description !== undefined && { Description: input.description }),
        }),
      );
    },
    list: async () => (await list()).sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase())),
    get,
    async detail(ref) {
      const g = await get(ref);
      const record = await client.get(cls, g.groupId);
      const members = await Promise.all(
        (await client.list('SMS_DPGroupMembers', byId(g.groupId))).map((m) => getDp(String(m.DPNALPath))),
      );
      const packageIds = (
        await client.list('SMS_DPGroupPackages', { ...byId(g.groupId), $orderby: 'PkgID' })
      ).map((p) => String(p.PkgID));
      return {
        ...dpGroupOf(record),
        members: members.sort((a, b) => a.name.localeCompare(b.name)),
        packageIds,
        outOfSync: Number(record.OutOfSyncContentCount ?? 0),
      };
    },
    async update(ref, patch) {
      const g = await get(ref);
      return dpGroupOf(
        await client.update(cls, g.groupId, {
          ...(patch.name !== undefined && { Name: patch.name }),
          ...(patch.description !== undefined && { Description: patch.description }),
        }),
      );
    },
    async delete(ref) {
      await client.delete(cls, (await get(ref)).groupId);
    },
    // The API methods answer ReturnValue only; the counts come from the group before and after.
    async addDistributionPoints(ref, dpRefs) {
      const before = await get(ref);
      await client.call(cls, 'AddDistributionPoints', { NALPaths: [...dpRefs] }, before.groupId);
      return { added: (await get(before.groupId)).memberCount - before.memberCount };
    },
    async removeDistributionPoints(ref, dpRefs) {
      await client.call(cls, 'RemoveDistributionPoints', { NALPaths: [...dpRefs] }, (await get(ref)).groupId);
    },
    async addPackages(ref, packageIds) {
      const before = await get(ref);
      await client.call(cls, 'AddPackages', { PackageIDs: [...packageIds] }, before.groupId);
      return { added: (await get(before.groupId)).contentCount - before.contentCount };
    },
    async removePackages(ref, packageIds) {
      await client.call(cls, 'RemovePackages', { PackageIDs: [...packageIds] }, (await get(ref)).groupId);
    },
    async reDistributePackage(ref, packageId) {
      const g = await get(ref);
      await client.call(cls, 'ReDistributePackage', { PackageID: packageId }, g.groupId);
      return { dps: g.memberCount };
    },
    async refreshDPGroup(ref) {
      const out = await client.call(cls, 'RefreshDPGroup', {}, (await get(ref)).groupId);
      return { targeted: Number(out.Targeted ?? 0) };
    },
  };
}

export function remoteDpSettings(client: AdminClient, getDp: GetDp): CliSite['dpSettings'] {
  const patch = async (ref: string, body: Record<string, unknown>): Promise<DistributionPoint> =>
    distributionPointOf(await client.update('SMS_DistributionPointInfo', (await getDp(ref)).nalPath, body));
  return {
    setBandwidth: (ref, change) =>
      patch(ref, {
        ...(change.rateLimit !== undefined && {
          RateLimit:
            typeof change.rateLimit === 'string' ? change.rateLimit : formatRateLimit(change.rateLimit),
        }),
        ...(change.availability !== undefined && {
          Availability:
            typeof change.availability === 'string' ? change.availability : change.availability.join(''),
        }),
        ...(change.timeZone !== undefined && { TimeZone: change.timeZone }),
      }),
    setMaintenanceMode: (ref, on) => patch(ref, { MaintenanceMode: on }),
    setValidationSchedule: (ref, schedule, repair) =>
      patch(ref, { ValidationSchedule: schedule, ValidationRepair: repair }),
  };
}

/** Tokens, audit log and hierarchy. */
export function remoteAdmin(client: AdminClient): Pick<CliSite, 'tokens' | 'audit' | 'hierarchy'> {
  const list = async () => (await client.list('SMS_AdminToken', { $orderby: 'ID' })).map(tokenInfoOf);
  const get = async (ref: string | number) => {
    const wanted = String(ref).trim().toLowerCase();
    const t = (await list()).find((x) => String(x.id) === wanted || x.name.toLowerCase() === wanted);
    if (!t) {
      throw new SitecastError('NOT_FOUND', `API token ${JSON.stringify(String(ref))} does not exist`, {
        field: 'ID',
      });
    }
    return t;
  };
  const hierarchy = (): Promise<never> =>
    Promise.reject(notRemote('site list / site tree / site set', 'run them on the site server'));
  return {
    tokens: {
      async create(input) {
        const r = await client.create('SMS_AdminToken', {
          Name: input.name,
          Role: input.role,
          ExpiresTime:
            input.expiresAt === undefined || input.expiresAt === null
              ? null
              : new Date(input.expiresAt).toISOString(),
        });
        return { token: String(r.Token), info: tokenInfoOf(r) };
      },
      list,
      get,
      async revoke(ref) {
        await client.delete('SMS_AdminToken', (await get(ref)).id);
      },
    },
    audit: {
      async list(filter = {}) {
        const clauses = [
          filter.since !== undefined && `Time ge ${new Date(filter.since).toISOString()}`,
          filter.principal !== undefined && `PrincipalName eq ${odataString(filter.principal)}`,
        ].filter((c): c is string => typeof c === 'string');
        const rows = await client.list('SMS_AdminAuditLog', {
          $orderby: 'Time desc,ID desc',
          $top: String(filter.limit ?? 100),
          ...(clauses.length > 0 && { $filter: clauses.join(' and ') }),
        });
        return rows.map(auditEntryOf);
      },
    },
    hierarchy: { listChildren: hierarchy, parent: hierarchy, tree: hierarchy, setLinkBandwidth: hierarchy },
  };
}
