export { SiteRepository, assertSiteCode, type Site, type SiteRole } from './site.repository.js';
