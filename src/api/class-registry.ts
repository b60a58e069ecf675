/** Every class the AdminService serves, in the order the service document and $metadata list them. */
import { SitecastError } from '../kernel/index.js';
import type { ApiClass } from './class-model.js';
import { smsAdminAuditLogClass, smsAdminTokenClass } from './classes/admin.classes.js';
import { smsDistributionPointGroupClass } from './classes/dp-group.class.js';
import { smsDpGroupMembersClass, smsDpGroupPackagesClass } from './classes/dp-group-links.classes.js';
import { smsDistributionPointClass, smsDistributionPointInfoClass } from './classes/dp.classes.js';
import { smsImageInformationClass, smsScheduleMethodsClass, smsSiteClass } from './classes/misc.classes.js';
import { smsAdminJobClass } from './classes/job.class.js';
import { smsImagePackageClass, smsPackageClass } from './classes/package.classes.js';
import {
  smsDistributionDPStatusClass,
  smsObjectContentExtraInfoClass,
  smsPackageStatusDetailSummarizerClass,
  smsPackageStatusDistPointsSummarizerClass,
} from './classes/status.classes.js';

export const apiClasses: readonly ApiClass[] = [
  smsPackageClass,
  smsImagePackageClass,
  smsImageInformationClass,
  smsDistributionPointClass,
  smsDistributionPointInfoClass,
  smsDistributionPointGroupClass,
  smsDpGroupMembersClass,
  smsDpGroupPackagesClass,
  smsPackageStatusDistPointsSummarizerClass,
  smsPackageStatusDetailSummarizerClass,
  smsObjectContentExtraInfoClass,
  smsDistributionDPStatusClass,
  smsSiteClass,
  smsScheduleMethodsClass,
  smsAdminTokenClass,
  smsAdminAuditLogClass,
  smsAdminJobClass,
];

const byName = new Map(apiClasses.map((c) => [c.name.toLowerCase(), c]));

/** A class by name (case-insensitive, as WMI); INVALID_CLASS (0x80041010, 404) otherwise. */
export function findClass(name: string): ApiClass {
  const cls = byName.get(name.toLowerCase());
  if (!cls) {
    throw new SitecastError('INVALID_CLASS', `${name} is not a class this AdminService serves`, {
      field: 'class',
      className: name,
    });
  }
  return cls;
}
