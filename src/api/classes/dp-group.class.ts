/** SMS_DistributionPointGroup (reference §3): a named set of DPs that receives every package assigned to it. */
import { sql } from 'kysely';
import { SitecastError } from '../../kernel/index.js';
import {
  checkWritable,
  keyString,
  recordFromRow,
  requireString,
  type ApiClass,
  type ApiContext,
  type ApiMethod,
} from '../class-model.js';
import { dpTargets, stringArray } from './method-params.js';
import { viewOf, viewProperties } from './view.js';

function groupMethod(
  name: string,
  description: string,
  params: ApiMethod['params'],
  run: (
    ctx: ApiContext,
    groupId: string,
    p: Readonly<Record<string, unknown>>,
  ) => Promise<Record<string, unknown>>,
  out?: ApiMethod['out'],
): ApiMethod {
  return {
    name,
    binding: 'instance',
    description,
    params,
    ...(out && { out }),
    run: (ctx, p, key) => run(ctx, keyString(key!, 'GroupID'), p),
  };
}

const dpList = {
  SiteCodes: { type: 'string[]', description: 'site code of each DP (optional)' },
  NALPaths: { type: 'string[]', required: true, description: 'NALPath (or name) of each DP' },
} as const;

export const smsDistributionPointGroupClass: ApiClass = {
  name: 'SMS_DistributionPointGroup',
  description: 'a named set of DPs: packages assigned to it reach every member, also members added later',
  key: ['GroupID'],
  properties: viewProperties({
    GroupID: { type: 'string', description: '{GUID}' },
    Name: { type: 'string', access: 'rw' },
    Description: { type: 'string', access: 'rw' },
    MemberCount: { type: 'uint32' },
    ContentCount: { type: 'uint32' },
    OutOfSyncContentCount: {
      type: 'uint32',
      description: 'member × package pairs whose content is not installed on the member',
    },
    CreatedOn: { type: 'datetime' },
    ModifiedOn: { type: 'datetime' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('dp_group as g')
        .select([
          'g.group_id as GroupID',
          'g.name as Name',
          'g.description as Description',
          sql<number>`(select count(*) from dp_group_member m where m.group_id = g.group_id)`.as(
            'MemberCount',
          ),
          sql<number>`(select count(*) from dp_group_package k where k.group_id = g.group_id)`.as(
            'ContentCount',
          ),
          sql<number>`(select count(*) from dp_group_member m inner join dp_group_package k on k.group_id = m.group_id left join package_dp pd on pd.package_id = k.package_id and pd.dp_id = m.dp_id where m.group_id = g.group_id and (pd.state is null or pd.state <> 0))`.as(
            'OutOfSyncContentCount',
          ),
          'g.created_at as CreatedOn',
          'g.modified_at as ModifiedOn',
        ]),
    ),
  toRecord: (row) => recordFromRow(smsDistributionPointGroupClass, row),
  async create(ctx, body) {
    checkWritable(smsDistributionPointGroupClass, body, 'create');
    const g = await ctx.site.dpGroups.create({
      name: requireString(body, 'Name'),
      ...(typeof body.Description === 'string' && { description: body.Description }),
    });
    return { key: { GroupID: g.groupId } };
  },
  async update(ctx, key, body) {
    checkWritable(smsDistributionPointGroupClass, body, 'update');
    for (const f of ['Name', 'Description'] as const) {
      if (body[f] !== undefined && typeof body[f] !== 'string') {
        throw new SitecastError('TYPE_MISMATCH', `${f} must be a string`, { field: f });
      }
    }
    const g = await ctx.site.dpGroups.update(keyString(key, 'GroupID'), {
      ...(body.Name !== undefined && { name: body.Name as string }),
      ...(body.Description !== undefined && { description: body.Description as string }),
    });
    return { GroupID: g.groupId };
  },
  async delete(ctx, key) {
    await ctx.site.dpGroups.delete(keyString(key, 'GroupID'));
  },
  methods: [
    groupMethod(
      'AddDistributionPoints',
      "add DPs to the group; they receive the group's packages",
      dpList,
      async (ctx, id, p) => {
        await ctx.site.dpGroups.addDistributionPoints(
          id,
          await dpTargets(ctx.site, p, 'NALPaths', 'SiteCodes'),
        );
        return {};
      },
    ),
    groupMethod(
      'RemoveDistributionPoints',
      'remove DPs from the group; their content stays',
      dpList,
      async (ctx, id, p) => {
        await ctx.site.dpGroups.removeDistributionPoints(
          id,
          await dpTargets(ctx.site, p, 'NALPaths', 'SiteCodes'),
        );
        return {};
      },
    ),
    groupMethod(
      'AddPackages',
      'assign packages to the group: they go to every member',
      { PackageIDs: { type: 'string[]', required: true } },
      async (ctx, id, p) => {
        await ctx.site.dpGroups.addPackages(id, stringArray(p, 'PackageIDs'));
        return {};
      },
    ),
    groupMethod(
      'RemovePackages',
      'unassign packages: their content leaves members no other group assigns them to',
      { PackageIDs: { type: 'string[]', required: true } },
      async (ctx, id, p) => {
        await ctx.site.dpGroups.removePackages(id, stringArray(p, 'PackageIDs'));
        return {};
      },
    ),
    groupMethod(
      'ReDistributePackage',
      'send everything of one assigned package again to every member, overwriting',
      { PackageID: { type: 'string', required: true } },
      async (ctx, id, p) => {
        await ctx.site.dpGroups.reDistributePackage(id, requireString(p, 'PackageID'));
        return {};
      },
    ),
    groupMethod(
      'RefreshDPGroup',
      'target every package of the group to every member that lacks it',
      {},
      async (ctx, id) => ({ Targeted: (await ctx.site.dpGroups.refreshDPGroup(id)).targeted }),
      { Targeted: 'uint32' },
    ),
  ],
};
