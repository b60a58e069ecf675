/**
 * The DP agent (`sitecast dp serve`): a FolderDpStore on the DP host's disk behind `/dp/v1`, authenticated
 * with the per-DP secret the site holds. One process owns one DP folder.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { MANIFEST_DELTA_MEDIA_TYPE } from '../../content/index.js';
import { systemClock, type Clock } from '../../kernel/index.js';
import { DP_API_PREFIX } from '../http/dp-wire.js';
import { FolderDpStore } from '../local-folder/index.js';
import { mapAgentError } from './agent-errors.js';
import { AgentStatsCounter } from './agent-stats.js';
import { AgentStoreView } from './agent-store-view.js';
import { contentRoutes } from './content-routes.js';
import { dpRoutes } from './dp-routes.js';
import { PackagePulls } from './package-pulls.js';
import type { PullSourcesOptions } from './pull-sources.js';
import { RawBodies } from './raw-body.js';

/** Pooled receive buffers fit the HTTP adapter's 16 MiB batches (a bigger body gets its own buffer). */
const BATCH_POOL_BYTES = 16 * 1024 * 1024 + 64 * 1024;

export interface DpAgentOptions {
  /** The DP folder (created if missing). */
  readonly dir: string;
  /** The per-DP secret; requests must be signed with it. */
  readonly secret: string;
  readonly clock?: Clock;
  /** Timestamped lines are the caller's business: this gets the bare message. */
  readonly logger?: (line: string) => void;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** How long activate/verify requests carrying an operation id wait before answering 202 (default 10 s). */
  readonly longPollMs?: number;
  readonly skewMs?: number;
  /** Timeouts and retries of pull-mode chunk fetches (defaults: 30 s per chunk, 4 passes over the sources). */
  readonly pull?: Omit<PullSourcesOptions, 'onFailure'>;
  /** Bearer token clients must present on `/content` (default: content is open to anyone who can connect). */
  readonly contentToken?: string;
}

export interface DpAgent {
  readonly app: FastifyInstance;
  readonly store: FolderDpStore;
  /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:8450`. */
  listen(options: { readonly port: number; readonly host?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function createDpAgent(options: DpAgentOptions): Promise<DpAgent> {
  const log = options.logger ?? ((): void => undefined);
  const store = new FolderDpStore({ root: options.dir, create: true });
  const view = new AgentStoreView(store);
  const stats = new AgentStatsCounter();
  const clock = options.clock ?? systemClock;
  const pulls = new PackagePulls({
    store,
    view,
    stats,
    log,
    clock,
    ...(options.pull && { sources: options.pull }),
  });
  // fastify types an https instance differently; both serve the same routes, so one type is used here.
  const app = (options.tls
    ? Fastify({
        logger: false,
        https: { cert: options.tls.cert, key: options.tls.key },
        forceCloseConnections: true,
      })
    : Fastify({ logger: false, forceCloseConnections: true })) as unknown as FastifyInstance;

  // Bodies stay raw: their SHA-256 is checked against the signed header before anything reads them.
  // Chunk uploads are read into pooled buffers their routes give back (./raw-body.ts).
  const bodies = new RawBodies(
    BATCH_POOL_BYTES,
    (request) =>
      (request.method === 'POST' && request.routeOptions.url === `${DP_API_PREFIX}/chunks/batch`) ||
      (request.method === 'PUT' && request.routeOptions.url === `${DP_API_PREFIX}/chunks/:id`),
  );
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/octet-stream', MANIFEST_DELTA_MEDIA_TYPE],
    bodies.parse,
  );
  app.setErrorHandler((error, request, reply) => {
    const mapped = mapAgentError(error, request);
    if (mapped.status === 401) {
      log(
        `refused ${request.method} ${request.url.split('?')[0]} from ${request.ip}: ${mapped.error.message}`,
      );
    } else if (mapped.status >= 500) {
      log(`${request.method} ${request.url}: ${mapped.error.code} ${mapped.error.message}`);
    }
    void reply.code(mapped.status).send({ error: mapped.error.toJSON() });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: {
        code: '0x80041002',
        name: 'NOT_FOUND',
        message: `no route ${request.method} ${request.url.split('?')[0]} on this DP agent`,
        details: { field: 'path' },
      },
    });
  });

  await app.register(dpRoutes, {
    prefix: DP_API_PREFIX,
    store,
    view,
    secret: options.secret,
    clock,
    pulls,
    stats,
    bodies,
    longPollMs: options.longPollMs ?? 10_000,
    log,
    ...(options.skewMs !== undefined && { skewMs: options.skewMs }),
  });
  // What clients download: no site secret here (design §4), the current tree as the store presents it.
  await app.register(contentRoutes, {
    prefix: '/content',
    resolve: (packageId) => view.presented(packageId),
    ...(options.contentToken !== undefined && { token: options.contentToken }),
  });

  return {
    app,
    store,
    listen: async ({ port, host }) => {
      await app.listen({ port, host: host ?? '127.0.0.1' });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      // A wildcard address is not one to connect to: this host's loopback is.
      const shown = host === undefined || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      return `${options.tls ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${bound}`;
    },
    close: async () => {
      pulls.stopAll();
      await app.close();
    },
  };
}
