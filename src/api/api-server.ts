/**
 * The site server's HTTP face: the AdminService-compatible REST API under /AdminService (bearer tokens),
 * /healthz and /metrics (no authentication), all on one fastify instance. Routes are thin: the class
 * descriptions in classes/ say what each class is, the site's services do the work.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { SitecastError, systemClock } from '../kernel/index.js';
import { siteChunkRoutes, siteGrantVerifier } from '../dp/index.js';
import { registerAdminRoutes } from './admin-routes.js';
import type { ApiSite } from './api-site.js';
import { installAuth, requirePrincipal } from './auth-hook.js';
import { errorBody, installErrorHandler } from './error-handler.js';
import { installHealth } from './health.js';
import { installMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { defaultReadCacheBytes, ReadCache } from './read-cache.js';
import { requestState } from './request-state.js';

export interface ApiServerOptions {
  /** Lines for people (5xx failures, audit-log trouble); default: nowhere. */
  readonly log?: (line: string) => void;
  /** Shown in the OpenAPI document. */
  readonly version?: string;
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  /** Memory for answers to reads kept until the database changes (default 64 MiB; 0: off). */
  readonly readCacheBytes?: number;
  /** More routes on the same server (e.g. the hierarchy's `/site/v1`), registered before it is ready. */
  readonly extend?: (app: FastifyInstance) => Promise<void>;
}

export async function createApiServer(
  site: ApiSite,
  options: ApiServerOptions = {},
): Promise<FastifyInstance> {
  const log = options.log ?? ((): void => undefined);
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // NAL paths in composite keys are long.
    routerOptions: { maxParamLength: 4096 },
    // A URL the router cannot even decode gets the same error JSON as everything else.
    frameworkErrors: (error, _request, reply) => {
      const e = new SitecastError('INVALID_PARAMETER', `malformed request: ${error.message}`, {
        field: 'url',
      });
      void (reply as FastifyReply).code(400).send(errorBody(e, undefined));
    },
  });
  // Method calls often come with an empty body (RefreshPkgSource); that is `{}`, not a JSON error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(
        new SitecastError(
          'INVALID_PARAMETER',
          `the request body is not valid JSON: ${(e as Error).message}`,
          { field: 'body' },
        ),
        undefined,
      );
    }
  });
  app.addHook('onRequest', (request, _reply, done) => {
    requestState(request);
    done();
  });
  installErrorHandler(app, log);
  installAuth(app, site);
  const reads = new ReadCache(site.database.changeStamp, {
    maxBytes: options.readCacheBytes ?? defaultReadCacheBytes,
  });
  installMetrics(app, site, reads);
  installHealth(app, site);
  app.get('/AdminService/openapi.json', (request, reply) => {
    requestState(request).route = '/AdminService/openapi.json';
    requirePrincipal(request);
    void reply.send(openApiDocument(options.version ?? '0.1.0'));
  });
  registerAdminRoutes(app, { site, log, reads });
  // The site as a pull source: pull DPs that list it fetch chunks here with a read grant from the site.
  await app.register(siteChunkRoutes, {
    getChunk: (id) => site.library.chunks.get(id).catch(() => null),
    verifyGrant: siteGrantVerifier({
      secretOf: async (name) => {
        const dp = await site.dps.get(name).catch(() => undefined);
        return dp?.isPull && dp.config.kind === 'http' ? dp.config.secret : null;
      },
      clock: systemClock,
    }),
  });
  await options.extend?.(app);
  await app.ready();
  return app;
}

/** Listens and returns the base URL people can open (a wildcard host is shown as loopback). */
export async function listenApi(
  app: FastifyInstance,
  options: { readonly port: number; readonly host?: string },
): Promise<string> {
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
