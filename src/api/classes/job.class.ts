/**
 * SMS_AdminJob (sitecast's own, read-only): the distribution manager's job queue, so a remote client can
 * tell when the work it asked for has ended (`sitecast --server … --wait`) and why a job failed for good.
 */
import { recordFromRow, type ApiClass } from '../class-model.js';
import { viewOf, viewProperties } from './view.js';

export const smsAdminJobClass: ApiClass = {
  name: 'SMS_AdminJob',
  description: "one job of the site's distribution manager (refresh, transfer, verify, remove, …); read-only",
  key: ['ID'],
  properties: viewProperties({
    ID: { type: 'int64' },
    Kind: { type: 'string', description: 'refresh, transfer, verify, remove, gc, replicate' },
    PackageID: { type: 'string', description: 'the package the job works on, if any' },
    State: { type: 'string', description: 'queued, running, done, failed or cancelled' },
    Priority: { type: 'uint32' },
    Attempts: { type: 'uint32', description: 'claims so far, the running one included' },
    MaxAttempts: { type: 'uint32' },
    RunTime: { type: 'datetime', description: 'not before this time (retries back off)' },
    LastError: { type: 'string', description: '`CODE: message` of the last failed attempt' },
    CreatedTime: { type: 'datetime' },
    UpdatedTime: { type: 'datetime' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('job as j')
        .select([
          'j.id as ID',
          'j.kind as Kind',
          'j.package_id as PackageID',
          'j.state as State',
          'j.priority as Priority',
          'j.attempts as Attempts',
          'j.max_attempts as MaxAttempts',
          'j.run_at as RunTime',
          'j.last_error as LastError',
          'j.created_at as CreatedTime',
          'j.updated_at as UpdatedTime',
        ]),
    ),
  toRecord: (row) => recordFromRow(smsAdminJobClass, row),
};
