export { createApiServer, listenApi, type ApiServerOptions } from './api-server.js';
export type { ApiSite } from './api-site.js';
export { apiClasses, findClass } from './class-registry.js';
export type { ApiClass, ApiMethod, ApiProperty, ApiPropertyType } from './class-model.js';
export { metadataXml, serviceDocument } from './metadata.js';
export { openApiDocument } from './openapi.js';
export { checkHealth, type HealthReport } from './health.js';
export { HttpMetrics, siteGauges } from './metrics.js';
export { parseResourcePath, type ResourcePath } from './resource-path.js';
