export type { WimHeader } from './wim-header.js';
export { parseWimHeader } from './wim-header.js';
export type { WimImage, WimWindowsInfo } from './wim-xml.js';
export { parseWimXml, ARCH_NAMES } from './wim-xml.js';
export type { WimMetadata, ReadWimOptions } from './wim-reader.js';
export { readWimMetadata, DEFAULT_MAX_XML_BYTES } from './wim-reader.js';
