/**
 * The `/dp/v1` routes (design §4) over one FolderDpStore. Authentication runs first, in `onRequest`, from
 * the signed headers alone: a request without the site's signature is answered 401 before its body is
 * read and before anything touches the store. The body is then checked against its signed digest: its
 * SHA-256, or for chunk uploads signed in mode `chunk-frames-v1` the ids and lengths of its chunks (their
 * bytes are hashed against their ids by the store before any is kept, so each pushed byte is hashed once).
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isSitecastError, type Clock } from '../../kernel/index.js';
import {
  CHUNK_FRAMES_SHA256_HEADER,
  CONTENT_SHA256_HEADER,
  ReplayGuard,
  grantTokenOf,
  keyIdOf,
  verifyBodyHash,
  verifyChunkFramesDigest,
  verifyReadGrant,
  verifyRequest,
} from '../auth/index.js';
import { chunkFramesDigest, decodeChunkBatch, readChunkAnswer } from '../http/chunk-batch.js';
import type { DpChunk } from '../dp-adapter.js';
import {
  CHUNKS_MISSING_HEADER,
  READ_ANSWER_MAX_BYTES,
  chunkReadRequest,
  missingRequest,
  pullRequest,
  type PendingProgress,
} from '../http/dp-wire.js';
import type { FolderDpStore } from '../local-folder/index.js';
import { MAX_CHUNK_BYTES } from '../local-folder/index.js';
import type { AgentStatsCounter } from './agent-stats.js';
import type { AgentStoreView } from './agent-store-view.js';
import type { PackagePulls } from './package-pulls.js';
import { LongOperations } from './long-operations.js';
import { manifestOf } from './manifest-input.js';
import type { RawBodies } from './raw-body.js';
import { bodyOf, connectionSignal, jsonBodyOf, parsed } from './request-input.js';

/** Missing-chunk queries: ids of a ~100 GiB package fit; the HTTP adapter pages far below this. */
export const JSON_BODY_LIMIT = 8 * 1024 * 1024;
/** One chunk; the biggest a manifest may name. */
export const CHUNK_BODY_LIMIT = MAX_CHUNK_BYTES;
/** A batch may carry one maximal chunk plus framing; the adapter sends 16 MiB batches. */
export const BATCH_BODY_LIMIT = MAX_CHUNK_BYTES + 1024 * 1024;
/** A manifest costs ~90 bytes per chunk: 32 MiB is ~370k chunks, a ~23 GiB package at 64 KiB chunks. */
export const MANIFEST_BODY_LIMIT = 32 * 1024 * 1024;
/** A pull request carries the manifest in base64 (4/3 of its size) plus a few sources. */
export const PULL_BODY_LIMIT = Math.ceil((MANIFEST_BODY_LIMIT * 4) / 3) + 1024 * 1024;

export interface DpRoutesOptions {
  readonly store: FolderDpStore;
  readonly view: AgentStoreView;
  readonly secret: string;
  readonly clock: Clock;
  readonly skewMs?: number;
  /** How long a long operation's request waits before answering 202 (the client repeats it). */
  readonly longPollMs: number;
  readonly log: (line: string) => void;
  readonly pulls: PackagePulls;
  readonly stats: AgentStatsCounter;
  /** The body parser's pool: chunk upload routes give their body buffer back once stored. */
  readonly bodies?: RawBodies;
}

const packageParams = z.object({ pkg: z.string() });
const packageQuery = z.object({ packageId: z.string() });
const chunkParams = z.object({ id: z.string() });
const operationId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8–64 letters, digits, - or _');
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1'));
const versionParams = z.object({
  pkg: z.string(),
  v: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a non-negative integer')
    .transform(Number),
});
const activateQuery = z.object({
  manifestId: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  seedFromExisting: flag(true),
  rebuild: flag(false),
  op: operationId.optional(),
});
const operationQuery = z.object({ op: operationId.optional() });
const planQuery = z.object({
  manifestId: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});

export const dpRoutes: FastifyPluginAsync<DpRoutesOptions> = (app, o) => {
  const replay = new ReplayGuard();
  const ops = new LongOperations();
  const activating = new Map<string, { version: number; manifestId: string }>();
  const { store, view, log, stats } = o;
  /** Requests authenticated by a read grant (../auth/read-grant.ts): they may only read chunks. */
  const granted = new WeakSet<FastifyRequest>();
  /** Requests that signed their chunk frames, not their body: the frames are checked in `preHandler`. */
  const framesSigned = new WeakSet<FastifyRequest>();
  /** A batch's chunks as decoded for that check, so the route does not decode them again. */
  const decodedBatches = new WeakMap<FastifyRequest, DpChunk[]>();
  const batchRoute = `${app.prefix}/chunks/batch`;
  const chunkRoute = `${app.prefix}/chunks/:id`;
  const readRoute = `${app.prefix}/chunks/read`;
  const isChunkRead = (request: FastifyRequest): boolean =>
    (request.method === 'GET' && request.routeOptions.url === chunkRoute) ||
    (request.method === 'POST' && request.routeOptions.url === readRoute);
  const isChunkUpload = (request: FastifyRequest): boolean =>
    (request.method === 'POST' && request.routeOptions.url === batchRoute) ||
    (request.method === 'PUT' && request.routeOptions.url === chunkRoute);

  app.addHook('onRequest', (request, _reply, done) => {
    const grant = grantTokenOf(request.headers.authorization);
    if (grant !== null && isChunkRead(request)) {
      verifyReadGrant(o.secret, grant, o.clock.now());
      granted.add(request);
      return done();
    }
    const verified = verifyRequest({
      secret: o.secret,
      method: request.method,
      pathAndQuery: request.raw.url ?? request.url,
      authorization: request.headers.authorization,
      contentSha256: headerOf(request, CONTENT_SHA256_HEADER),
      chunkFramesSha256: headerOf(request, CHUNK_FRAMES_SHA256_HEADER),
      chunkFramesAllowed: isChunkUpload(request),
      clock: o.clock,
      replay,
      ...(o.skewMs !== undefined && { skewMs: o.skewMs }),
    });
    if (verified.bodyDigest !== 'body') framesSigned.add(request);
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    if (granted.has(request)) return done();
    if (framesSigned.has(request)) {
      verifyChunkFramesDigest(headerOf(request, CHUNK_FRAMES_SHA256_HEADER) ?? '', framesDigestOf(request));
      return done();
    }
    verifyBodyHash(
      headerOf(request, CONTENT_SHA256_HEADER) ?? '',
      Buffer.isBuffer(request.body) ? request.body : undefined,
    );
    done();
  });

  /** The frame digest of a chunk upload's body: a batch's frames, or the one chunk of `PUT /chunks/:id`. */
  function framesDigestOf(request: FastifyRequest): string {
    const body = bodyOf(request, 'application/octet-stream');
    if (request.method === 'PUT') {
      const { id } = parsed(chunkParams, request.params, 'path');
      return chunkFramesDigest([{ id, length: body.length }]);
    }
    const chunks = decodeChunkBatch(body);
    decodedBatches.set(request, chunks);
    return chunkFramesDigest(chunks.map((c) => ({ id: c.id, length: c.bytes.length })));
  }

  /** Runs a long operation, answering 202 when the request named an operation id and it is still running. */
  async function longOperation<T>(
    reply: FastifyReply,
    kind: string,
    packageId: string,
    fingerprint: string,
    op: string | undefined,
    start: (signal: AbortSignal) => Promise<T>,
  ): Promise<T | { running: true; operation: string }> {
    const key = `${kind}:${packageId}:${op ?? randomBytes(8).toString('hex')}`;
    const waited = await ops.run(
      key,
      fingerprint,
      start,
      op ? o.longPollMs : Infinity,
      connectionSignal(reply),
    );
    if (waited.done) return waited.value;
    void reply.code(202);
    return { running: true, operation: op! };
  }

  app.post('/chunks/missing', { bodyLimit: JSON_BODY_LIMIT }, async (request) => {
    const body = jsonBodyOf(request, missingRequest);
    return { missing: await store.missingChunks(body.packageId, body.ids) };
  });

  app.put('/chunks/:id', { bodyLimit: CHUNK_BODY_LIMIT }, async (request) => {
    try {
      const { id } = parsed(chunkParams, request.params, 'path');
      const { packageId } = parsed(packageQuery, request.query, 'query');
      await storeCounted(packageId, [{ id, bytes: bodyOf(request, 'application/octet-stream') }]);
      return { ok: true };
    } finally {
      o.bodies?.release(request);
    }
  });

  app.post('/chunks/batch', { bodyLimit: BATCH_BODY_LIMIT }, async (request) => {
    try {
      const { packageId } = parsed(packageQuery, request.query, 'query');
      const chunks =
        decodedBatches.get(request) ?? decodeChunkBatch(bodyOf(request, 'application/octet-stream'));
      await storeCounted(packageId, chunks);
      return { ok: true, chunks: chunks.length };
    } finally {
      // Stored (copied to disk) or refused: the chunks' bytes are not read after this.
      decodedBatches.delete(request);
      o.bodies?.release(request);
    }
  });

  app.get('/chunks/:id', async (request, reply) => {
    const { id } = parsed(chunkParams, request.params, 'path');
    const bytes = await store.readChunk(id);
    stats.add('served', 1, bytes.length);
    return reply.type('application/octet-stream').send(bytes);
  });

  /** A pull DP reading several chunks at once (../http/dp-wire.ts `chunkReadRequest`). */
  app.post('/chunks/read', { bodyLimit: JSON_BODY_LIMIT }, async (request, reply) => {
    const { ids } = jsonBodyOf(request, chunkReadRequest);
    const answer = await readChunkAnswer(ids, await store.chunkReader(), READ_ANSWER_MAX_BYTES);
    const served = answer.chunks.reduce((n, c) => n + c.bytes.length, 0);
    stats.add('served', answer.chunks.length, served);
    return reply
      .type('application/octet-stream')
      .header(CHUNKS_MISSING_HEADER, String(answer.missing))
      .header('content-length', String(answer.length))
      .send(Readable.from(answer.parts));
  });

  app.put('/packages/:pkg/versions/:v', { bodyLimit: MANIFEST_BODY_LIMIT }, async (request, reply) => {
    const { pkg, v: version } = parsed(versionParams, request.params, 'path');
    const q = parsed(activateQuery, request.query, 'query');
    const manifest = manifestOf(request, store, pkg, q.manifestId);
    const fingerprint = [pkg, version, q.manifestId, q.seedFromExisting, q.rebuild].join('|');
    return longOperation(reply, 'activate', pkg, fingerprint, q.op, async (signal) => {
      const before = await store.packageState(pkg);
      activating.set(pkg, { version, manifestId: q.manifestId });
      try {
        await store.activate(pkg, version, q.manifestId, manifest, {
          seedFromExisting: q.seedFromExisting,
          rebuild: q.rebuild,
          signal,
        });
      } finally {
        activating.delete(pkg);
      }
      if (before?.manifestId !== q.manifestId || !q.seedFromExisting || q.rebuild) {
        log(
          `${pkg}: SourceVersion ${version} active (manifest ${q.manifestId.slice(0, 12)}…${q.seedFromExisting ? '' : ', rebuilt from sent chunks'})`,
        );
      }
      return { packageId: pkg, version, manifestId: q.manifestId };
    });
  });

  /** The version the next chunk uploads are for: they are written straight into its tree. */
  app.put('/packages/:pkg/versions/:v/plan', { bodyLimit: MANIFEST_BODY_LIMIT }, async (request) => {
    const { pkg, v: version } = parsed(versionParams, request.params, 'path');
    const { manifestId } = parsed(planQuery, request.query, 'query');
    await store.prepare(pkg, version, manifestId, manifestOf(request, store, pkg, manifestId));
    return { ok: true };
  });

  app.get('/packages/:pkg', async (request) => {
    const { pkg } = parsed(packageParams, request.params, 'path');
    const state = await store.packageState(pkg);
    const pending: PendingProgress = {
      ...(await view.pending(pkg)),
      activating: activating.get(pkg) ?? null,
    };
    return {
      packageId: pkg,
      version: state?.version ?? null,
      manifestId: state?.manifestId ?? null,
      pending,
      pull: o.pulls.progress(pkg),
    };
  });

  app.post('/packages/:pkg/pull', { bodyLimit: PULL_BODY_LIMIT }, async (request, reply) => {
    const { pkg } = parsed(packageParams, request.params, 'path');
    const body = jsonBodyOf(request, pullRequest);
    const current = await store.packageState(pkg);
    if (current?.manifestId === body.manifestId && body.seedFromExisting && !body.rebuild) {
      return { packageId: pkg, version: current.version, manifestId: current.manifestId, pull: null };
    }
    const progress = o.pulls.start(pkg, body);
    void reply.code(202);
    return {
      packageId: pkg,
      version: current?.version ?? null,
      manifestId: current?.manifestId ?? null,
      pull: progress,
    };
  });

  /** CancelDistribution of a pull: stop fetching; what landed stays for a later pull. */
  app.delete('/packages/:pkg/pull', (request) => {
    const { pkg } = parsed(packageParams, request.params, 'path');
    o.pulls.stop(pkg);
    return Promise.resolve({ ok: true });
  });

  app.get('/stats', () => Promise.resolve(stats.snapshot()));

  app.post('/packages/:pkg/verify', async (request, reply) => {
    const { pkg } = parsed(packageParams, request.params, 'path');
    const { op } = parsed(operationQuery, request.query, 'query');
    return longOperation(reply, 'verify', pkg, pkg, op, (signal) => store.verify(pkg, signal));
  });

  app.post('/packages/:pkg/discard-pending', async (request) => {
    const { pkg } = parsed(packageParams, request.params, 'path');
    o.pulls.stop(pkg);
    await store.discardPending(pkg);
    return { ok: true };
  });

  app.delete('/packages/:pkg', async (request) => {
    const { pkg } = parsed(packageParams, request.params, 'path');
    o.pulls.stop(pkg);
    await store.remove(pkg);
    log(`${pkg}: removed`);
    return { ok: true };
  });

  app.get('/health', async () => {
    const health = await store.health();
    return { ...health, keyId: keyIdOf(o.secret), packages: await view.packages() };
  });

  /** Stores pushed chunks, counting which were new and which the DP already had (sent for nothing). */
  async function storeCounted(packageId: string, chunks: readonly DpChunk[]): Promise<void> {
    const had = await view.received(
      packageId,
      chunks.map((c) => c.id),
    );
    try {
      await store.putChunks(packageId, chunks);
    } catch (e) {
      if (isSitecastError(e, 'HASH_MISMATCH')) stats.add('rejected', 1, 0);
      throw e;
    }
    for (const c of chunks) stats.add(had.has(c.id) ? 'duplicates' : 'received', 1, c.bytes.length);
  }

  return Promise.resolve();
};

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
