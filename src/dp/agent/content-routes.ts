/**
 * What PXE clients, task sequences and admins download from a DP: `GET`/`HEAD /content/:pkg/*path` answers
 * a file of the package's current version (Range, multipart ranges, ETag, conditionals) or, for a path
 * ending in `/`, a listing of that directory. A directory named without its trailing slash is redirected
 * (301) to it, so relative links in the HTML listing resolve. Each request pins one version: resolved once,
 * realpath'd once, the file opened before any header is sent (see content-version.ts).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SitecastError, isSitecastError, systemClock, type Clock } from '../../kernel/index.js';
import { multipartBody, rangeStream } from './content-body.js';
import { entityTag, evaluatePreconditions, ifRangeMatches, lastModified } from './content-conditionals.js';
import { listingHtml, readListing, wantsJson, type Listing } from './content-listing.js';
import { locateInTree, parseContentPath, type ContentPath } from './content-path.js';
import { contentRangeHeader, parseRange } from './content-range.js';
import { bearerTokenCheck } from './content-token.js';
import { withCurrentVersion, type ContentResolver, type ContentVersion } from './content-version.js';

export type { ContentResolver } from './content-version.js';

export interface ContentRoutesOptions extends ContentResolver {
  /** Optional bearer token; when set, every request needs it. */
  readonly token?: string;
  /** The wall clock the file system stamps files with (default the system's): see `lastModified`. */
  readonly clock?: Pick<Clock, 'now'>;
}

const contentTypes: Readonly<Record<string, string>> = {
  '.xml': 'application/xml',
  '.txt': 'text/plain',
  '.json': 'application/json',
  '.html': 'text/html',
  '.htm': 'text/html',
};

/** A response fully prepared (file open, headers known) before anything is written to the client. */
interface Prepared {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body?: Readable;
  readonly listing?: Listing;
}

/** Mount with `{ prefix: '/content' }`; the options object is the resolver (its `resolve` is called on it). */
export const contentRoutes: FastifyPluginAsync<ContentRoutesOptions> = (app, options) =>
  // Through a promise so a bad option rejects the registration instead of throwing inside avvio.
  Promise.resolve().then(() => registerContentRoutes(app, options));

function registerContentRoutes(app: FastifyInstance, options: ContentRoutesOptions): void {
  const resolver = options;
  const clock = options.clock ?? systemClock;
  const tokenCheck = options.token === undefined ? null : bearerTokenCheck(options.token);
  if (tokenCheck) {
    app.addHook('onRequest', async (request, reply) => {
      if (tokenCheck(request.headers.authorization)) return;
      const denied = new SitecastError(
        'ACCESS_DENIED',
        `content ${request.url.split('?', 1)[0]} needs "Authorization: Bearer <token>"`,
        { field: 'authorization' },
      );
      reply.header('www-authenticate', 'Bearer realm="sitecast content"');
      return sendError(request, reply, denied, 401);
    });
  }

  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    let prepared: Prepared;
    try {
      const path = parseContentPath(request.url, app.prefix);
      prepared = await withCurrentVersion(resolver, path.packageId, (version) =>
        prepare(request, path, version, clock),
      );
    } catch (e) {
      return sendError(request, reply, e);
    }
    const { status, headers, body, listing } = prepared;
    reply.code(status).headers(headers);
    if (listing) {
      const json = wantsJson(request.headers.accept);
      reply.header('content-type', json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8');
      return reply.send(json ? listing : listingHtml(listing, app.prefix));
    }
    return reply.send(body);
  };

  for (const url of ['/:pkg', '/:pkg/*']) {
    app.route({ method: ['GET', 'HEAD'], url, exposeHeadRoute: false, handler: serve });
  }
}

async function prepare(
  request: FastifyRequest,
  path: ContentPath,
  version: ContentVersion,
  clock: Pick<Clock, 'now'>,
): Promise<Prepared> {
  const located = await locateInTree(version.tree, path.segments);
  if (!located) throw notFound(path, version);
  // O_NOFOLLOW: the path is already real, so a final symlink here can only be a swap after realpath.
  const handle = await open(located.absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
  let owned = true;
  try {
    const stats = await handle.stat();
    const common = { 'x-sitecast-version': version.version, 'cache-control': 'no-cache' };
    if (stats.isDirectory()) {
      if (!path.trailingSlash) {
        const [rawPath, query] = splitQuery(request.url);
        return { status: 301, headers: { ...common, location: `${rawPath}/${query}` } };
      }
      const entries = await readListing(version.tree, located.absolute, path.segments);
      const dir = located.relative === '' ? '/' : `/${located.relative}/`;
      const { packageId, manifestId } = version;
      const listing: Listing = { packageId, version: version.version, manifestId, path: dir, entries };
      return { status: 200, headers: { ...common, vary: 'Accept' }, listing };
    }
    if (!stats.isFile() || path.trailingSlash) throw notFound(path, version);

    const size = stats.size;
    const etag = entityTag(version.manifestId, located.relative);
    const type = contentTypes[extname(located.relative).toLowerCase()] ?? 'application/octet-stream';
    const changedAtMs = Math.max(stats.mtimeMs, stats.ctimeMs);
    const modified = lastModified(changedAtMs, clock.now());
    const headers = {
      ...common,
      etag,
      ...(modified !== undefined && { 'last-modified': modified }),
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    };
    const outcome = evaluatePreconditions(request.headers, { etag, changedAtMs });
    if (outcome === 'not-modified') return { status: 304, headers };
    if (outcome === 'precondition-failed') {
      throw new SitecastError(
        'STALE_OBJECT',
        `content ${path.requested} no longer matches If-Match/If-Unmodified-Since`,
        {
          path: path.requested,
          etag,
        },
      );
    }
    const isGet = request.method === 'GET';
    // Range is defined for GET only (RFC 9110 §14.2): HEAD answers what a plain GET would.
    const range =
      isGet && ifRangeMatches(request.headers['if-range'], etag)
        ? parseRange(request.headers.range, size)
        : ({ kind: 'ignore' } as const);
    if (range.kind === 'unsatisfiable') {
      throw new RangeNotSatisfiable(path, request.headers.range ?? '', size);
    }
    if (range.kind === 'ranges' && range.ranges.length > 1) {
      const multipart = multipartBody(handle, range.ranges, size, type);
      owned = false;
      const partHeaders = {
        ...headers,
        'content-type': multipart.contentType,
        'content-length': multipart.length,
      };
      return { status: 206, headers: partHeaders, body: multipart.stream };
    }
    const part = range.kind === 'ranges' ? range.ranges[0]! : null;
    const length = part ? part.end - part.start + 1 : size;
    const fileHeaders: Record<string, string | number> = {
      ...headers,
      'content-type': type,
      'content-length': length,
    };
    if (part) fileHeaders['content-range'] = contentRangeHeader(part, size);
    const status = part ? 206 : 200;
    if (!isGet || length === 0) return { status, headers: fileHeaders };
    owned = false;
    return { status, headers: fileHeaders, body: rangeStream(handle, part ?? { start: 0, end: size - 1 }) };
  } finally {
    if (owned) await handle.close();
  }
}

class RangeNotSatisfiable extends SitecastError {
  constructor(
    path: ContentPath,
    range: string,
    readonly size: number,
  ) {
    super(
      'INVALID_PARAMETER',
      `Range ${JSON.stringify(range)} is outside content ${path.requested} (${size} bytes)`,
      {
        field: 'range',
        path: path.requested,
        size,
      },
    );
  }
}

function notFound(path: ContentPath, version: ContentVersion): SitecastError {
  return new SitecastError(
    'NOT_FOUND',
    `content ${JSON.stringify(path.requested)} is not in package ${version.packageId} version ${version.version}`,
    { path: path.requested, packageId: version.packageId, version: version.version },
  );
}

function sendError(request: FastifyRequest, reply: FastifyReply, e: unknown, status?: number): FastifyReply {
  const error = asContentError(e);
  if (error.httpStatus >= 500) request.log.error({ err: e }, error.message);
  if (e instanceof RangeNotSatisfiable) {
    reply.header('content-range', `bytes */${e.size}`);
    status = 416;
  }
  reply.code(status ?? error.httpStatus).header('content-type', 'application/json; charset=utf-8');
  return reply.send({ error: error.toJSON() });
}

/** Filesystem errors here are about the DP's own tree, not a package source: map them for clients. */
function asContentError(e: unknown): SitecastError {
  if (isSitecastError(e)) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
    return new SitecastError('NOT_FOUND', `content not found: ${message}`, {}, { cause: e });
  }
  return new SitecastError('FAILED', `reading content failed: ${message}`, {}, { cause: e });
}

function splitQuery(url: string): [string, string] {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}
