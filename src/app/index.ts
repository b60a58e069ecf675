export { openSite, type SiteHandle, type OpenSiteOptions } from './site.js';
