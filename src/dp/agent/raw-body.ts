/**
 * Request bodies read straight into one buffer of their announced length, for the agent's raw body types.
 * Fastify's own `parseAs: 'buffer'` keeps every socket piece and joins them at the end: for 16 MiB chunk
 * batches arriving at several agents at once, that fresh 16 MiB per request (page faults, and the garbage
 * collections its external memory triggers) cost more CPU than hashing the chunks. Chunk uploads take
 * their buffer from a small pool instead and give it back once the chunks are stored.
 *
 * Limits and errors are fastify's (FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_INVALID_CONTENT_LENGTH), so
 * the agent's error mapping answers them as before.
 */
import { errorCodes, type FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';

/** Reusable receive buffers of one size; a body that does not fit gets its own. */
export class ReceiveBufferPool {
  readonly #free: Buffer[] = [];

  constructor(
    readonly bytes: number,
    readonly maxKept = 2,
  ) {}

  /** A buffer of at least `length` bytes (its content is garbage). */
  take(length: number): Buffer {
    if (length > this.bytes) return Buffer.allocUnsafeSlow(length);
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.bytes);
  }

  /**
   * Gives back a buffer from `take`: nothing may read or write it afterwards. One never given back (a
   * request that failed before its route ran) is simply collected.
   */
  give(buffer: Buffer): void {
    if (buffer.length === this.bytes && this.#free.length < this.maxKept) this.#free.push(buffer);
  }
}

/**
 * The agent's raw body parser and its pool: `parse` is the content-type parser; the routes of `pooledFor`
 * requests call `release` once their body is no longer used (their buffer goes back to the pool).
 */
export class RawBodies {
  readonly #pool: ReceiveBufferPool;
  readonly #held = new WeakMap<FastifyRequest, Buffer>();

  constructor(
    poolBytes: number,
    private readonly pooledFor: (request: FastifyRequest) => boolean,
  ) {
    this.#pool = new ReceiveBufferPool(poolBytes);
  }

  readonly parse = (
    request: FastifyRequest,
    payload: Readable,
    done: (error: Error | null, body?: Buffer) => void,
  ): void => {
    const pool = this.pooledFor(request) ? this.#pool : null;
    readRawBody(request, payload, pool, (buffer) => this.#held.set(request, buffer), done);
  };

  /** Gives the request's pooled body buffer back: neither the body nor any view of it may be used after. */
  release(request: FastifyRequest): void {
    const buffer = this.#held.get(request);
    if (!buffer) return;
    this.#held.delete(request);
    this.#pool.give(buffer);
  }
}

/** Bodies below this are read into their own buffer, not a pooled one. */
const pooledFrom = 1024 * 1024;

/**
 * Reads the request's body into one buffer, from `pool` when given and the body is large; `onPooled`
 * learns of a pooled one (to give back once done with the body). Calls `done` as a fastify content-type
 * parser must.
 */
export function readRawBody(
  request: FastifyRequest,
  payload: Readable,
  pool: ReceiveBufferPool | null,
  onPooled: (buffer: Buffer) => void,
  done: (error: Error | null, body?: Buffer) => void,
): void {
  const limit = request.routeOptions.bodyLimit ?? Infinity;
  const announced = Number(request.headers['content-length']);
  if (announced > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  const known = Number.isSafeInteger(announced) && announced >= 0;
  const pooled = pool !== null && known && announced >= pooledFrom;
  let target = pooled
    ? pool.take(announced)
    : Buffer.allocUnsafe(known ? announced : Math.min(limit, 64 * 1024));
  let received = 0;
  const finish = (error: Error | null): void => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    if (error) {
      if (pooled) pool.give(target);
      return done(error);
    }
    if (pooled) onPooled(target);
    done(null, target.subarray(0, received));
  };
  const onData = (piece: Buffer | string): void => {
    const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (received + bytes.length > limit) return finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    if (received + bytes.length > target.length) {
      // More than announced cannot happen (the HTTP parser stops at Content-Length); chunked bodies grow.
      if (known) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      const bigger = Buffer.allocUnsafe(
        Math.min(limit, Math.max(target.length * 2, received + bytes.length)),
      );
      target.copy(bigger, 0, 0, received);
      target = bigger;
    }
    bytes.copy(target, received);
    received += bytes.length;
  };
  const onEnd = (): void =>
    finish(known && received !== announced ? new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH() : null);
  const onError = (e: Error & { statusCode?: number }): void => {
    if (!(typeof e.statusCode === 'number' && e.statusCode >= 400)) e.statusCode = 400;
    finish(e);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}
