import type { Migration } from 'kysely';
import * as init from './20261126-0001-init.js';
import * as jobCancelRequested from './20261126-0002-job-cancel-requested.js';
import * as imageInfo from './20261126-0003-image-info.js';
import * as dpGroups from './20261126-0004-dp-groups.js';
import * as bandwidth from './20261126-0005-bandwidth.js';
import * as auth from './20261126-0006-auth.js';
import * as refreshSchedule from './20261126-0007-refresh-schedule.js';
import * as siteLinks from './20261126-0008-site-links.js';
import * as dpValidation from './20261126-0009-dp-validation.js';
import * as linkBandwidth from './20261126-0010-link-bandwidth.js';
import * as dpHealth from './20261126-0011-dp-health.js';
import * as apiIndexes from './20261126-0012-api-indexes.js';

/** Every migration, in order. One change per timestamped file; never edit a landed one. */
export const migrations: Record<string, Migration> = {
  '20261126-0001-init': init,
  '20261126-0002-job-cancel-requested': jobCancelRequested,
  '20261126-0003-image-info': imageInfo,
  '20261126-0004-dp-groups': dpGroups,
  '20261126-0005-bandwidth': bandwidth,
  '20261126-0006-auth': auth,
  '20261126-0007-refresh-schedule': refreshSchedule,
  '20261126-0008-site-links': siteLinks,
  '20261126-0009-dp-validation': dpValidation,
  '20261126-0010-link-bandwidth': linkBandwidth,
  '20261126-0011-dp-health': dpHealth,
  '20261126-0012-api-indexes': apiIndexes,
};
