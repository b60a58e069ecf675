/**
 * The `/site/v1` routes (design §4, §6) every site serves. Authentication runs first, in `onRequest`, from
 * the signed headers alone (dp/auth HMAC): `/join` is signed with the join secret, every other call with
 * the per-link secret of the site named in `x-sitecast-site`. A wrong or missing signature is answered 401
 * before the body is read, so it changes nothing. Calls from the parent (metadata, chunks, versions) are
 * refused from a child and the status upload from anyone but a child.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  CONTENT_SHA256_HEADER,
  isAuthFailure,
  ReplayGuard,
  verifyBodyHash,
  verifyRequest,
} from '../dp/index.js';
import { SitecastError, toSitecastError } from '../kernel/index.js';
import type { HierarchyService } from './hierarchy.service.js';
import {
  activateRequest,
  joinRequest,
  missingRequest,
  packageMeta,
  SITE_HEADER,
  statusReport,
} from './site-wire.js';

/** What the routes need of a site (a SiteHandle has it). */
export interface HierarchySite {
  readonly hierarchy: HierarchyService;
}

export interface SiteRoutesOptions {
  readonly site: HierarchySite;
}

/** Missing-chunk queries and status reports. */
const JSON_BODY_LIMIT = 32 * 1024 * 1024;
/** A batch is ~8 MiB of chunks plus framing; one maximal chunk fits too. */
const BATCH_BODY_LIMIT = 24 * 1024 * 1024;
/** A manifest in base64. */
const MANIFEST_BODY_LIMIT = 48 * 1024 * 1024;

type Peer = { readonly kind: 'parent' | 'child' | 'joining'; readonly siteCode: string };

export const siteRoutes: FastifyPluginAsync<SiteRoutesOptions> = (app, o) => {
  const h = o.site.hierarchy;
  const replay = new ReplayGuard();
  const peers = new WeakMap<FastifyRequest, Peer>();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/octet-stream'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((error, request, reply) => {
    const e: SitecastError = toSitecastError(error, `${request.method} ${request.url.split('?')[0]}`);
    const fastifyStatus = (error as { statusCode?: number }).statusCode;
    const unauthenticated: boolean = isAuthFailure(e);
    const status = unauthenticated
      ? 401
      : !(error instanceof SitecastError) && fastifyStatus !== undefined && fastifyStatus < 500
        ? fastifyStatus
        : e.httpStatus;
    if (status === 401 || status >= 500)
      h.log(`site api: ${request.method} ${request.url.split('?')[0]} → ${status} ${e.message}`);
    void reply.code(status).send({ error: e.toJSON() });
  });

  app.addHook('onRequest', async (request) => {
    const caller = headerOf(request, SITE_HEADER) ?? '';
    const path = request.routeOptions.url ?? '';
    let peer: Peer;
    let secret: string | undefined;
    if (path === `${app.prefix}/join`) {
      secret = h.joinSecret;
      peer = { kind: 'joining', siteCode: caller };
      if (!secret)
        throw authFailure(`site ${h.siteCode} accepts no child sites: it was started without a join secret`);
    } else {
      const parent = await h.links.parent();
      const child = parent?.siteCode === caller ? undefined : await h.links.findChild(caller);
      if (parent && parent.siteCode === caller) {
        secret = parent.secret;
        peer = { kind: 'parent', siteCode: caller };
      } else if (child) {
        secret = child.secret;
        peer = { kind: 'child', siteCode: caller };
      } else {
        throw authFailure(
          `site ${JSON.stringify(caller)} has no link with site ${h.siteCode}: it must join first`,
        );
      }
    }
    verifyRequest({
      secret,
      method: request.method,
      pathAndQuery: request.raw.url ?? request.url,
      authorization: request.headers.authorization,
      contentSha256: headerOf(request, CONTENT_SHA256_HEADER),
      clock: h.clock,
      replay,
    });
    peers.set(request, peer);
  });
  app.addHook('preHandler', (request, _reply, done) => {
    verifyBodyHash(
      headerOf(request, CONTENT_SHA256_HEADER) ?? '',
      Buffer.isBuffer(request.body) ? request.body : undefined,
    );
    done();
  });

  const from = (request: FastifyRequest, kind: Peer['kind']): Peer => {
    const peer = peers.get(request)!;
    if (peer.kind !== kind) {
      throw new SitecastError(
        'ACCESS_DENIED',
        `site ${peer.siteCode} is this site's ${peer.kind}, and only its ${kind} may call ${request.routeOptions.url ?? ''}`,
        {
          field: SITE_HEADER,
        },
      );
    }
    return peer;
  };

  app.post('/join', { bodyLimit: 64 * 1024 }, async (request) => {
    const body = jsonOf(request, joinRequest);
    if (body.siteCode !== peers.get(request)!.siteCode) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `body.siteCode ${body.siteCode} differs from ${SITE_HEADER}`,
        { field: 'siteCode' },
      );
    }
    return h.acceptJoin(body);
  });

  app.get('/hello', async () => ({ siteCode: h.siteCode, role: await h.role() }));

  app.post('/packages/:pkg/metadata', { bodyLimit: 16 * 1024 * 1024 }, async (request) => {
    from(request, 'parent');
    const meta = jsonOf(request, packageMeta);
    if (meta.PackageID !== (request.params as { pkg: string }).pkg) {
      throw new SitecastError('INVALID_PARAMETER', `body.PackageID ${meta.PackageID} differs from the path`, {
        field: 'PackageID',
      });
    }
    return h.applyMetadata(meta);
  });

  app.post('/chunks/missing', { bodyLimit: JSON_BODY_LIMIT }, async (request) => {
    from(request, 'parent');
    const body = jsonOf(request, missingRequest);
    return { missing: await h.receiver.missingChunks(body.ids) };
  });

  app.post('/chunks/batch', { bodyLimit: BATCH_BODY_LIMIT }, async (request) => {
    from(request, 'parent');
    return { stored: await h.receiver.putChunks(bufferOf(request, 'application/octet-stream')) };
  });

  app.put('/packages/:pkg/versions/:v', { bodyLimit: MANIFEST_BODY_LIMIT }, async (request) => {
    const peer = from(request, 'parent');
    const { pkg, v } = request.params as { pkg: string; v: string };
    if (!/^\d{1,9}$/.test(v) || Number(v) < 1) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `version ${JSON.stringify(v)} must be a positive integer`,
        { field: 'version' },
      );
    }
    return h.receiver.activate(pkg, Number(v), jsonOf(request, activateRequest), peer.siteCode);
  });

  app.post('/status', { bodyLimit: JSON_BODY_LIMIT }, async (request) => {
    const peer = from(request, 'child');
    const report = jsonOf(request, statusReport);
    if (report.siteCode !== peer.siteCode) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `report of site ${report.siteCode} sent by ${peer.siteCode}`,
        { field: 'siteCode' },
      );
    }
    return { ok: true as const, queued: await h.applyStatusReport(report) };
  });
  return Promise.resolve();
};

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function authFailure(message: string): SitecastError {
  return new SitecastError('ACCESS_DENIED', message, { field: 'authorization', reason: 'unknown-key' });
}

function bufferOf(request: FastifyRequest, type: string): Buffer {
  const given = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (given !== type) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `Content-Type must be ${type}, not ${JSON.stringify(given)}`,
      {
        field: 'content-type',
      },
    );
  }
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

function jsonOf<S extends z.ZodType>(request: FastifyRequest, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(bufferOf(request, 'application/json').toString('utf8'));
  } catch (e) {
    if (e instanceof SitecastError) throw e;
    throw new SitecastError('INVALID_PARAMETER', `body is not valid JSON: ${(e as Error).message}`, {
      field: 'body',
    });
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new SitecastError('INVALID_PARAMETER', `body.${issue.path.map(String).join('.')}: ${issue.message}`, {
    field: issue.path.map(String).join('.') || 'body',
  });
}
