import type { Migration } from 'kysely';
import * as init from './20261126-0001-init.js';
import * as jobCancelRequested from './20261126-0002-job-cancel-requested.js';
import * as imageInfo from './20261126-0003-image-info.js';
import * as dpGroups from './20261126-0004-dp-groups.js';

/** Every migration, in order. One change per timestamped file; never edit a landed one. */
export const migrations: Record<string, Migration> = {
  '20261126-0001-init': init,
  '20261126-0002-job-cancel-requested': jobCancelRequested,
  '20261126-0003-image-info': imageInfo,
  '20261126-0004-dp-groups': dpGroups,
};
