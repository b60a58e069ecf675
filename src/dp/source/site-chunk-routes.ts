/**
 * The site as a pull source: `GET /dp/v1/chunks/:id` and `POST /dp/v1/chunks/read` (several chunks in
 * one answer, ../http/dp-wire.ts `chunkReadRequest`) over the site's content library, for holders of a
 * read grant (../auth/read-grant.ts). `sitecast server` mounts it at its root; a pull DP listing the site
 * as a source fetches chunks here with the grant the site's transfer job gave it. Every chunk is re-hashed
 * before it is sent, so a rotten pack entry is a 500, never wrong bytes.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { sha256Hex } from '../../content/index.js';
import { SitecastError, isSitecastError, type Clock } from '../../kernel/index.js';
import { grantTokenOf, peekReadGrant, verifyReadGrant, type ReadGrant } from '../auth/index.js';
import { readChunkAnswer } from '../http/chunk-batch.js';
import { CHUNKS_MISSING_HEADER, READ_ANSWER_MAX_BYTES, chunkReadRequest } from '../http/dp-wire.js';

export interface SiteChunkRoutesOptions {
  /** The chunk's bytes, or null when the library does not have it. */
  getChunk(id: string): Promise<Buffer | null>;
  /** Checks a grant token (ACCESS_DENIED otherwise) for reading chunk `chunkId` (of a read, its first). */
  verifyGrant(token: string, chunkId: string): Promise<ReadGrant> | ReadGrant;
  /** Told of every chunk served (for counters and logs). */
  onServed?(grant: ReadGrant, id: string, bytes: number): void;
}

const chunkIdPattern = /^[0-9a-f]{64}$/;

export const siteChunkRoutes: FastifyPluginAsync<SiteChunkRoutesOptions> = (app, o) => {
  app.setErrorHandler((error, _request, reply) => {
    const e =
      error instanceof SitecastError
        ? error
        : new SitecastError('FAILED', error instanceof Error ? error.message : String(error));
    const status =
      isSitecastError(e, 'ACCESS_DENIED') && e.details.field === 'authorization' ? 401 : e.httpStatus;
    void reply.code(status).send({ error: e.toJSON() });
  });

  const tokenOf = (authorization: string | undefined): string => {
    const token = grantTokenOf(authorization);
    if (token !== null) return token;
    throw new SitecastError(
      'ACCESS_DENIED',
      'reading chunks from the site needs a read grant (Sitecast-Grant)',
      {
        field: 'authorization',
        reason: 'missing',
      },
    );
  };
  /** The chunk's bytes, re-hashed; null when the library does not have it. */
  const verifiedChunk = async (id: string): Promise<Buffer | null> => {
    const bytes = await o.getChunk(id);
    if (bytes && sha256Hex(bytes) !== id) {
      throw new SitecastError(
        'CORRUPT_DATA',
        `chunk ${id} in the site's content library does not hash to its id`,
        {
          field: 'id',
          id,
        },
      );
    }
    return bytes;
  };

  app.get<{ Params: { id: string } }>('/dp/v1/chunks/:id', async (request, reply) => {
    const token = tokenOf(request.headers.authorization);
    const { id } = request.params;
    if (!chunkIdPattern.test(id)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `chunk id ${JSON.stringify(id)} must be 64 lowercase hex digits`,
        {
          field: 'id',
        },
      );
    }
    const grant = await o.verifyGrant(token, id);
    const bytes = await verifiedChunk(id);
    if (!bytes)
      throw new SitecastError('NOT_FOUND', `chunk ${id} is not in the site's content library`, {
        field: 'id',
        id,
      });
    o.onServed?.(grant, id, bytes.length);
    return reply.type('application/octet-stream').send(bytes);
  });

  app.post('/dp/v1/chunks/read', async (request, reply) => {
    const token = tokenOf(request.headers.authorization);
    const body = chunkReadRequest.safeParse(request.body);
    if (!body.success) {
      const issue = body.error.issues[0]!;
      throw new SitecastError('INVALID_PARAMETER', `body.${issue.path.join('.')}: ${issue.message}`, {
        field: issue.path.map(String).join('.') || 'body',
      });
    }
    const { ids } = body.data;
    const grant = await o.verifyGrant(token, ids[0]!);
    // A rotten library entry fails the whole read (500): the reader asks another source for all of it.
    const answer = await readChunkAnswer(ids, verifiedChunk, READ_ANSWER_MAX_BYTES);
    for (const c of answer.chunks) o.onServed?.(grant, c.id, c.bytes.length);
    return reply
      .type('application/octet-stream')
      .header(CHUNKS_MISSING_HEADER, String(answer.missing))
      .header('content-length', String(answer.length))
      .send(Readable.from(answer.parts));
  });
  return Promise.resolve();
};

export interface SiteGrantVerifierOptions {
  /** The secret of the pull DP named `dpName`, or null when there is no such pull DP. */
  secretOf(dpName: string): Promise<string | null>;
  readonly clock: Clock;
}

/**
 * The `verifyGrant` of a site: grants for the site are signed with the pull DP's own secret (the one key
 * the site and that DP share), so the DP named in the grant is looked up and its secret checks it.
 */
export function siteGrantVerifier(o: SiteGrantVerifierOptions): SiteChunkRoutesOptions['verifyGrant'] {
  return async (token) => {
    const claimed = peekReadGrant(token);
    const secret = claimed ? await o.secretOf(claimed.dp) : null;
    if (!claimed || secret === null) {
      throw new SitecastError('ACCESS_DENIED', 'read grant names no pull DP of this site', {
        field: 'authorization',
        reason: 'grant',
      });
    }
    return verifyReadGrant(secret, token, o.clock.now());
  };
}
