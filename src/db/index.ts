export { openDatabase, type SiteDatabase, type DialectCapabilities } from './connect.js';
export { isSqlite } from './dialect-helpers.js';
export type * from './schema.js';
