/** What the API serves: a site (src/app/site.ts) with its token service and audit log. */
import type { SiteHandle } from '../app/site.js';

/** The parts of a SiteHandle the API uses; the worker and close() stay with whoever opened the site. */
export type ApiSite = Omit<SiteHandle, 'createWorker' | 'close'>;
