/**
 * SMS_DPGroupMembers and SMS_DPGroupPackages (reference §3, read-only here: membership and assignment change
 * through the group's methods): which DPs and which packages a distribution point group holds.
 */
import { recordFromRow, type ApiClass } from '../class-model.js';
import { viewOf, viewProperties } from './view.js';

export const smsDpGroupMembersClass: ApiClass = {
  name: 'SMS_DPGroupMembers',
  description:
    'one DP in one distribution point group (change it with AddDistributionPoints/RemoveDistributionPoints)',
  key: ['GroupID', 'DPNALPath'],
  properties: viewProperties({
    GroupID: { type: 'string' },
    DPNALPath: { type: 'string' },
    Name: { type: 'string', description: 'the DP name' },
    SiteCode: { type: 'string' },
    AddedTime: { type: 'datetime' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('dp_group_member as m')
        .innerJoin('distribution_point as d', 'd.dp_id', 'm.dp_id')
        .select([
          'm.group_id as GroupID',
          'd.nal_path as DPNALPath',
          'd.name as Name',
          'd.site_code as SiteCode',
          'm.added_at as AddedTime',
        ]),
    ),
  toRecord: (row) => recordFromRow(smsDpGroupMembersClass, row),
};

export const smsDpGroupPackagesClass: ApiClass = {
  name: 'SMS_DPGroupPackages',
  description:
    'one package assigned to one distribution point group (change it with AddPackages/RemovePackages)',
  key: ['GroupID', 'PkgID'],
  properties: viewProperties({
    GroupID: { type: 'string' },
    PkgID: { type: 'string' },
    AddedTime: { type: 'datetime' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('dp_group_package as k')
        .select(['k.group_id as GroupID', 'k.package_id as PkgID', 'k.added_at as AddedTime']),
    ),
  toRecord: (row) => recordFromRow(smsDpGroupPackagesClass, row),
};
