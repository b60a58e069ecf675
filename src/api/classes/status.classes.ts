/**
 * The read-only status classes (reference §3), computed in SQL from package_dp, distribution_point,
 * package and status_message, so `$filter`, `$orderby` and paging run in the database like on any table:
 * SMS_PackageStatusDistPointsSummarizer, SMS_PackageStatusDetailSummarizer, SMS_ObjectContentExtraInfo and
 * SMS_DistributionDPStatus. The state buckets come from the distribution module's own dpStateBucket.
 */
import { sql, type RawBuilder } from 'kysely';
import { DpState, dpStateBucket, statusMessageText } from '../../distribution/index.js';
import { recordFromRow, type ApiClass } from '../class-model.js';
import { packageDpOrder, packageDpOrderColumn, viewOf, viewProperties } from './view.js';

const codes = Object.values(DpState);

/** `sum(case when pd.state in (…) then 1 else 0 end)`, 0 when no row matched. Codes are trusted constants. */
function countStates(states: readonly number[]): RawBuilder<number> {
  if (states.length === 0) return sql<number>`0`;
  return sql<number>`coalesce(sum(case when pd.state in (${sql.raw(states.join(', '))}) then 1 else 0 end), 0)`;
}

const bucket = (b: ReturnType<typeof dpStateBucket>): number[] => codes.filter((c) => dpStateBucket(c) === b);

const stateName = sql.raw(
  `case pd.state ${Object.entries(DpState)
    .map(([name, code]) => `when ${code} then '${name}'`)
    .join(' ')} else 'UNKNOWN' end`,
);

export const smsPackageStatusDistPointsSummarizerClass: ApiClass = {
  name: 'SMS_PackageStatusDistPointsSummarizer',
  description: 'state of one package on one DP, with the transfer figures',
  key: ['PackageID', 'ServerNALPath'],
  properties: viewProperties({
    PackageID: { type: 'string' },
    ServerNALPath: { type: 'string' },
    ServerName: { type: 'string' },
    SiteCode: { type: 'string' },
    State: { type: 'uint32', description: '0 INSTALLED … 8 CONTENT_MONITORING' },
    StateName: { type: 'string' },
    SourceVersion: { type: 'uint32', description: 'the version installed on the DP' },
    TargetVersion: { type: 'uint32' },
    LastCopied: { type: 'datetime' },
    SummaryDate: { type: 'datetime' },
    BytesTotal: { type: 'int64' },
    BytesDone: { type: 'int64' },
    BytesSent: { type: 'int64', description: 'bytes actually sent by the last transfer (the delta)' },
    TransferRate: { type: 'int64' },
    Attempts: { type: 'uint32' },
    LastError: { type: 'string' },
    WaitReason: { type: 'string' },
    ResumeAt: { type: 'datetime', description: 'when a waiting transfer resumes, if known' },
  }),
  defaultOrder: packageDpOrder,
  packedRows: true,
  plainRecords: true,
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('package_dp as pd')
        .innerJoin('distribution_point as d', 'd.dp_id', 'pd.dp_id')
        .select([
          packageDpOrderColumn,
          'pd.package_id as PackageID',
          'd.nal_path as ServerNALPath',
          'd.name as ServerName',
          'd.site_code as SiteCode',
          'pd.state as State',
          sql<string>`${stateName}`.as('StateName'),
          'pd.installed_version as SourceVersion',
          'pd.target_version as TargetVersion',
          'pd.last_copied as LastCopied',
          'pd.updated_at as SummaryDate',
          'pd.bytes_total as BytesTotal',
          'pd.bytes_done as BytesDone',
          'pd.bytes_sent as BytesSent',
          'pd.rate as TransferRate',
          'pd.attempts as Attempts',
          'pd.last_error as LastError',
          'pd.wait_reason as WaitReason',
          // As the status service tells it: an installed row neither waits nor resumes.
          sql<number | null>`case when pd.state = 0 then null else pd.resume_at end`.as('ResumeAt'),
        ]),
    ),
  toRecord: (row) => recordFromRow(smsPackageStatusDistPointsSummarizerClass, row),
};

export const smsPackageStatusDetailSummarizerClass: ApiClass = {
  name: 'SMS_PackageStatusDetailSummarizer',
  description: 'one package at one site: how many of its DPs there are targeted, installed, retrying, failed',
  key: ['PackageID', 'SiteCode'],
  properties: viewProperties({
    PackageID: { type: 'string' },
    SiteCode: { type: 'string' },
    Name: { type: 'string' },
    Targeted: { type: 'uint32' },
    Installed: { type: 'uint32' },
    Retrying: { type: 'uint32' },
    Failed: { type: 'uint32' },
    SourceVersion: { type: 'uint32' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('package as p')
        .leftJoin('package_dp as pd', 'pd.package_id', 'p.package_id')
        .leftJoin('distribution_point as d', 'd.dp_id', 'pd.dp_id')
        // A package targeted nowhere still has its row at this site, all zeros.
        .select([
          'p.package_id as PackageID',
          sql<string>`coalesce(d.site_code, ${site.siteCode})`.as('SiteCode'),
          'p.name as Name',
          sql<number>`count(pd.dp_id)`.as('Targeted'),
          countStates([DpState.INSTALLED]).as('Installed'),
          countStates([DpState.INSTALL_RETRYING, DpState.REMOVAL_RETRYING]).as('Retrying'),
          countStates([DpState.INSTALL_FAILED, DpState.REMOVAL_FAILED]).as('Failed'),
          'p.source_version as SourceVersion',
        ])
        .groupBy(['p.package_id', 'd.site_code', 'p.name', 'p.source_version']),
    ),
  toRecord: (row) => recordFromRow(smsPackageStatusDetailSummarizerClass, row),
};

export const smsObjectContentExtraInfoClass: ApiClass = {
  name: 'SMS_ObjectContentExtraInfo',
  description: 'one package over all its DPs: what Get-CMDistributionStatus prints',
  key: ['ObjectID'],
  properties: viewProperties({
    ObjectID: { type: 'string', description: 'the PackageID' },
    SoftwareName: { type: 'string' },
    PackageType: { type: 'uint32' },
    Targeted: { type: 'uint32' },
    NumberSuccess: { type: 'uint32' },
    NumberInProgress: { type: 'uint32' },
    NumberErrors: { type: 'uint32' },
    NumberUnknown: { type: 'uint32' },
    SourceVersion: { type: 'uint32' },
    SourceSize: { type: 'uint32', description: 'KB' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('package as p')
        .leftJoin('package_dp as pd', 'pd.package_id', 'p.package_id')
        .select([
          'p.package_id as ObjectID',
          'p.name as SoftwareName',
          'p.package_type as PackageType',
          sql<number>`count(pd.dp_id)`.as('Targeted'),
          countStates(bucket('success')).as('NumberSuccess'),
          countStates(bucket('inProgress')).as('NumberInProgress'),
          countStates(bucket('error')).as('NumberErrors'),
          sql<number>`count(pd.dp_id) - ${countStates([...bucket('success'), ...bucket('inProgress'), ...bucket('error')])}`.as(
            'NumberUnknown',
          ),
          'p.source_version as SourceVersion',
          'p.package_size_kb as SourceSize',
        ])
        .groupBy(['p.package_id', 'p.name', 'p.package_type', 'p.source_version', 'p.package_size_kb']),
    ),
  toRecord: (row) => recordFromRow(smsObjectContentExtraInfoClass, row),
};

export const smsDistributionDPStatusClass: ApiClass = {
  name: 'SMS_DistributionDPStatus',
  description: 'distribution status messages (2330 distributed to a DP, 8200 transfer finished, …)',
  key: ['RecordID'],
  properties: viewProperties({
    RecordID: { type: 'int64' },
    MessageID: { type: 'uint32' },
    MessageState: { type: 'uint32', description: '1 success, 2 in progress, 3 error' },
    MessageSeverity: { type: 'int64', description: '0x40000000 info, 0x80000000 warning, 0xC0000000 error' },
    PackageID: { type: 'string' },
    Name: { type: 'string', description: 'the DP, if the message is about one' },
    NALPath: { type: 'string' },
    InsertionStrings: { type: 'string[]' },
    Text: { type: 'string', filterable: false, description: 'the message with its insertion strings' },
    Time: { type: 'datetime' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('status_message as m')
        .leftJoin('distribution_point as d', 'd.dp_id', 'm.dp_id')
        .select([
          'm.id as RecordID',
          'm.message_id as MessageID',
          'm.message_state as MessageState',
          'm.severity as MessageSeverity',
          'm.package_id as PackageID',
          'd.name as Name',
          'd.nal_path as NALPath',
          'm.insertion_strings as InsertionStrings',
          'm.time as Time',
        ]),
    ),
  toRecord(row) {
    const r = recordFromRow(smsDistributionDPStatusClass, row);
    const strings = JSON.parse(String(row.InsertionStrings)) as string[];
    r.InsertionStrings = strings;
    r.Text = statusMessageText(Number(row.MessageID), strings);
    return r;
  },
};
