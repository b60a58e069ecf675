export * from './package-types.js';
export { PackageRepository, type PackageFilter } from './package.repository.js';
export {
  PackageService,
  checkSource,
  assertPackageId,
  type CreatePackageInput,
  type VersionCommit,
} from './package.service.js';
export { parsePackageProperties, assertSourcePathShape, type PackageWritable } from './package.schemas.js';
export { toSmsPackage, smsClassOf, type SmsPackage } from './sms-package.js';
