/**
 * Signed requests to one DP agent over `node:http`/`node:https` with keep-alive agents shared by every
 * client: a timeout per request on top of the caller's AbortSignal, every answer checked with a zod
 * schema, and the agent's JSON errors turned back into the same SitecastError (code and details), so
 * callers cannot tell a remote DP from a local folder by its errors. Connection failures and timeouts are
 * DP_UNAVAILABLE naming the agent URL.
 *
 * Not global fetch: undici copies every request body and the copies of 8–16 MiB chunk batches cost the
 * site more CPU (copy plus garbage collection) than sending them. Here a body given as pieces (frame
 * headers and the chunks' own buffers) goes to the socket as they are, in one corked write.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import type { MANIFEST_DELTA_MEDIA_TYPE } from '../../content/index.js';
import { ErrorCatalog, SitecastError, systemClock, type Clock, type ErrorCode } from '../../kernel/index.js';
import { signRequest } from '../auth/index.js';
import { wireError } from './dp-wire.js';

export interface DpHttpClientOptions {
  /** Agent base URL, e.g. `https://dp04.example:8450`. */
  readonly url: string;
  readonly secret: string;
  readonly clock?: Clock;
  /** Per request (plus transfer time for large bodies); default 30 s. */
  readonly timeoutMs?: number;
  /** The slowest upload still considered alive, for timeouts of large bodies; default 256 KiB/s. */
  readonly minBytesPerSecond?: number;
}

export interface DpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under the base URL, with its query, e.g. `/dp/v1/chunks/batch?packageId=PS100001`. */
  readonly path: string;
  /** The body, whole or as pieces sent one after another (not joined: see the file comment). */
  readonly body?: Buffer | readonly Buffer[];
  /**
   * A chunk upload's frame digest (./chunk-batch.ts `chunkFramesDigest`): signed instead of the body's
   * SHA-256, which is then not computed (the agent checks every chunk against its id).
   */
  readonly chunkFramesSha256?: string;
  readonly contentType?: 'application/json' | 'application/octet-stream' | typeof MANIFEST_DELTA_MEDIA_TYPE;
  readonly signal?: AbortSignal | undefined;
  /** What the call does, for messages: `putChunks PS100001`. */
  readonly context: string;
  /** False: a connection that breaks under the request is reported, not retried (the caller knows better). */
  readonly retryBroken?: boolean;
}

export interface DpResponse {
  readonly status: number;
  readonly bytes: Buffer;
}

export class DpHttpClient {
  readonly url: string;
  readonly #secret: string;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #minRate: number;

  constructor(options: DpHttpClientOptions) {
    this.url = normaliseBaseUrl(options.url);
    this.#secret = options.secret;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#minRate = options.minBytesPerSecond ?? 256 * 1024;
  }

  /** The answer's JSON checked by `schema`. */
  async json<S extends z.ZodType>(
    request: DpRequest,
    schema: S,
  ): Promise<{ status: number; value: z.infer<S> }> {
    const response = await this.send(request);
    let json: unknown;
    try {
      json = JSON.parse(response.bytes.toString('utf8'));
    } catch {
      throw this.#badAnswer(request, `answered ${response.status} with a body that is not JSON`);
    }
    const checked = schema.safeParse(json);
    if (!checked.success)
      throw this.#badAnswer(
        request,
        `answered ${response.status} with an unexpected shape (${checked.error.issues[0]?.message ?? ''})`,
      );
    return { status: response.status, value: checked.data };
  }

  /**
   * Sends one signed request; any answer but 2xx becomes the SitecastError it carries. A connection that
   * breaks before an answer (a pooled keep-alive socket the agent closed when it restarted, a flaky link)
   * is tried again on a fresh one, a few times: every /dp/v1 call is idempotent, long operations included (they carry an id).
   */
  async send(request: DpRequest): Promise<DpResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#sendOnce(request);
      } catch (e) {
        if (!(e instanceof BrokenConnection)) throw e;
        if (request.retryBroken === false || attempt >= brokenAttempts) throw e.error;
        // The first retry goes at once (a stale pooled socket); later ones wait a little (a flaky link).
        if (attempt > 1)
          await delay(150 * attempt, undefined, request.signal ? { signal: request.signal } : {}).catch(
            () => undefined,
          );
      }
    }
  }

  async #sendOnce(request: DpRequest): Promise<DpResponse> {
    const target = new URL(this.url + request.path);
    const pathAndQuery = target.pathname + target.search;
    const parts =
      request.body === undefined ? [] : Buffer.isBuffer(request.body) ? [request.body] : request.body;
    const length = parts.reduce((n, p) => n + p.length, 0);
    const headers: Record<string, string> = {
      ...signRequest({
        secret: this.#secret,
        method: request.method,
        pathAndQuery,
        ...(request.chunkFramesSha256 !== undefined
          ? { chunkFramesSha256: request.chunkFramesSha256 }
          : request.body && { body: parts.length === 1 ? parts[0]! : Buffer.concat(parts, length) }),
        clock: this.#clock,
      }),
      accept: 'application/json, application/octet-stream',
    };
    if (request.body) {
      headers['content-type'] = request.contentType ?? 'application/octet-stream';
      headers['content-length'] = String(length);
    }
    const timeoutMs = this.#timeoutMs + Math.ceil((length / this.#minRate) * 1000);
    let status: number;
    let bytes: Buffer;
    try {
      ({ status, bytes } = await exchange(target, request.method, headers, parts, timeoutMs, request.signal));
    } catch (e) {
      if (request.signal?.aborted) {
        throw new SitecastError(
          'CANCELLED',
          `${request.context} on DP agent ${this.url}: cancelled`,
          {},
          { cause: e },
        );
      }
      if (e instanceof TimedOut) {
        throw new SitecastError(
          'DP_UNAVAILABLE',
          `${request.context}: DP agent ${this.url} did not answer within ${Math.round(timeoutMs / 1000)} s`,
          { field: 'url', url: this.url },
          { cause: e },
        );
      }
      const reason = reasonOf(e);
      const error = new SitecastError(
        'DP_UNAVAILABLE',
        `${request.context}: DP agent ${this.url} is unreachable (${reason})`,
        { field: 'url', url: this.url },
        { cause: e },
      );
      throw brokenCodes.has(reason) ? new BrokenConnection(error) : error;
    }
    if (status >= 200 && status < 300) return { status, bytes };
    throw this.#errorOf(request, status, bytes);
  }

  #errorOf(request: DpRequest, status: number, bytes: Buffer): SitecastError {
    let parsed: z.infer<typeof wireError> | undefined;
    try {
      const result = wireError.safeParse(JSON.parse(bytes.toString('utf8')));
      if (result.success) parsed = result.data;
    } catch {
      // Not ours (a proxy's HTML page): handled below by status.
    }
    const where = `${request.context} on DP agent ${this.url}`;
    if (status === 401) {
      return new SitecastError(
        'ACCESS_DENIED',
        `${where}: the DP agent rejected the secret (${parsed?.error.message ?? 'HTTP 401'})`,
        { ...(parsed?.error.details ?? {}), field: 'secret', url: this.url },
      );
    }
    if (parsed && parsed.error.name in ErrorCatalog) {
      return new SitecastError(
        parsed.error.name as ErrorCode,
        `${where}: ${parsed.error.message}`,
        parsed.error.details ?? {},
      );
    }
    if (status === 502 || status === 503 || status === 504) {
      return new SitecastError('DP_UNAVAILABLE', `${where}: HTTP ${status}`, { field: 'url', url: this.url });
    }
    return new SitecastError('FAILED', `${where}: HTTP ${status}`, { url: this.url, status });
  }

  #badAnswer(request: DpRequest, what: string): SitecastError {
    return new SitecastError('DP_UNAVAILABLE', `${request.context}: DP agent ${this.url} ${what}`, {
      field: 'url',
      url: this.url,
    });
  }
}

/** `http(s)://host:port[/prefix]` without a trailing slash; INVALID_PARAMETER naming the URL otherwise. */
export function normaliseBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SitecastError('INVALID_PARAMETER', `DP agent URL ${JSON.stringify(url)} is not a URL`, {
      field: 'url',
    });
  }
  if (
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.search ||
    parsed.hash ||
    parsed.username
  ) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `DP agent URL ${JSON.stringify(url)} must be http(s)://host:port with no query, fragment or credentials`,
      { field: 'url' },
    );
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** Tries of one request whose connection keeps breaking under it. */
const brokenAttempts = 4;

/** Errors of a connection that broke under a request (as opposed to one that could not be opened). */
const brokenCodes: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Keep-alive pools shared by every client (as global fetch's was): a job makes a client per DP and call,
 * and reusing connections spares a TCP (and TLS) handshake per chunk batch. Idle sockets do not keep the
 * process alive. TLS checks the agent's certificate against Node's CAs (and NODE_EXTRA_CA_CERTS).
 */
const httpAgent = new HttpAgent({ keepAlive: true, scheduling: 'lifo' });
const httpsAgent = new HttpsAgent({ keepAlive: true, scheduling: 'lifo' });

class BrokenConnection extends Error {
  constructor(readonly error: SitecastError) {
    super(error.message);
  }
}

export class TimedOut extends Error {}

/**
 * One request and its whole answer. Rejects with TimedOut after `timeoutMs`, with the signal's reason when
 * it aborts, and with the socket's error (ECONNRESET, EPIPE, ECONNREFUSED…) when the connection fails.
 * `receiveInto(length)` may give a buffer of at least the announced length for the answer (null: a fresh one).
 */
export function exchange(
  target: URL,
  method: string,
  headers: Record<string, string>,
  parts: readonly Buffer[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
  receiveInto?: (length: number) => Buffer | null,
): Promise<{ status: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    let done = false;
    let req: ClientRequest | undefined;
    const finish = (error: unknown, value?: { status: number; bytes: Buffer }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (value) resolve(value);
      else {
        req?.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const onAbort = (): void => finish(signal?.reason ?? new Error('aborted'));
    const timer = setTimeout(() => finish(new TimedOut(`no answer within ${timeoutMs} ms`)), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const https = target.protocol === 'https:';
    try {
      req = (https ? httpsRequest : httpRequest)(target, {
        method,
        headers,
        agent: https ? httpsAgent : httpAgent,
      });
    } catch (e) {
      return finish(e);
    }
    req.on('error', (e) => finish(e));
    req.on('response', (res: IncomingMessage) => {
      const pieces: Buffer[] = [];
      // An answer of announced length may go straight into the caller's (reused) buffer: a fresh
      // multi-MiB buffer per answer costs more in page faults than the copy itself.
      const announced = Number(res.headers['content-length'] ?? NaN);
      const into = Number.isSafeInteger(announced) && receiveInto ? receiveInto(announced) : null;
      let filled = 0;
      res.on('data', (piece: Buffer) => {
        if (!into) return void pieces.push(piece);
        if (filled + piece.length > announced) {
          return finish(Object.assign(new Error('answer longer than announced'), { code: 'ECONNRESET' }));
        }
        filled += piece.copy(into, filled);
      });
      res.on('error', (e) => finish(e));
      res.on('aborted', () => finish(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        if (!res.complete) return finish(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' }));
        const bytes = into ? into.subarray(0, filled) : Buffer.concat(pieces);
        finish(undefined, { status: res.statusCode ?? 0, bytes });
      });
    });
    // Corked until end(): the socket gets the headers and every piece in one writev, nothing copied.
    req.cork();
    for (const part of parts) if (part.length > 0) req.write(part);
    req.end();
  });
}

function reasonOf(e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const cause = (e as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}
