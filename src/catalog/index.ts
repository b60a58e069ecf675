export * from './package-types.js';
export { PackageRepository, toPackage, type PackageFilter } from './package.repository.js';
export {
  PackageService,
  checkSource,
  assertPackageId,
  type CreatePackageInput,
  type VersionCommit,
} from './package.service.js';
export { parsePackageProperties, assertSourcePathShape, type PackageWritable } from './package.schemas.js';
export { toSmsPackage, smsClassOf, type SmsPackage } from './sms-package.js';
export { ImageService, inspectImage } from './image.service.js';
export { ImageInfoRepository, toImageInformation, type ImageInformation } from './image-info.repository.js';
export { readImageMetadata, assertImageIndex, imageRowsOf, osVersionOf } from './image-metadata.js';
export {
  toSmsImageInformation,
  architectureName,
  type SmsImageInformation,
} from './sms-image-information.js';
