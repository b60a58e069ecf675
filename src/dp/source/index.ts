export {
  siteChunkRoutes,
  siteGrantVerifier,
  type SiteChunkRoutesOptions,
  type SiteGrantVerifierOptions,
} from './site-chunk-routes.js';
