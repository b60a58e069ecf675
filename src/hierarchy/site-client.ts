/**
 * Signed calls to another site's `/site/v1` (parent → child for replication, child → parent for join and
 * status): the dp/auth HMAC signing with the link's secret, a timeout per request, every answer checked
 * with a zod schema, and the peer's JSON errors turned back into the same SitecastError. Connection
 * failures, timeouts and 5xx are SITE_UNAVAILABLE naming the URL, so jobs retry them with backoff.
 */
import type { z } from 'zod';
import { signRequest } from '../dp/index.js';
import { ErrorCatalog, SitecastError, type Clock, type ErrorCode } from '../kernel/index.js';
import { SITE_API_PREFIX, SITE_HEADER } from './site-wire.js';

export interface SiteClientOptions {
  /** The peer's base URL (its `/site/v1` is under it). */
  readonly url: string;
  /** The link secret (or, for join only, the join secret). */
  readonly secret: string;
  /** This site's code, sent in `x-sitecast-site` so the peer picks the right secret. */
  readonly siteCode: string;
  readonly clock: Clock;
  /** Per request plus transfer time of big bodies; default 30 s. */
  readonly timeoutMs?: number;
}

export interface SiteCall {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Under `/site/v1`, with its query. */
  readonly path: string;
  readonly json?: unknown;
  readonly bytes?: Buffer;
  /** What the call does, for messages. */
  readonly context: string;
  readonly signal?: AbortSignal;
}

/** The slowest upload still considered alive, for timeouts of large bodies. */
const minBytesPerSecond = 256 * 1024;

export class SiteClient {
  readonly url: string;

  constructor(private readonly o: SiteClientOptions) {
    this.url = o.url.replace(/\/+$/, '');
  }

  async call<S extends z.ZodType>(call: SiteCall, schema: S): Promise<z.infer<S>> {
    const body = call.bytes ?? (call.json === undefined ? undefined : Buffer.from(JSON.stringify(call.json)));
    const target = new URL(this.url + SITE_API_PREFIX + call.path);
    const headers: Record<string, string> = {
      ...signRequest({
        secret: this.o.secret,
        method: call.method,
        pathAndQuery: target.pathname + target.search,
        ...(body && { body }),
        clock: this.o.clock,
      }),
      [SITE_HEADER]: this.o.siteCode,
      accept: 'application/json',
    };
    if (body) headers['content-type'] = call.bytes ? 'application/octet-stream' : 'application/json';
    const timeoutMs =
      (this.o.timeoutMs ?? 30_000) + Math.ceil(((body?.length ?? 0) / minBytesPerSecond) * 1000);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const response = await fetch(target, { method: call.method, headers, ...(body && { body }), signal });
      status = response.status;
      text = await response.text();
    } catch (e) {
      if (call.signal?.aborted) {
        throw new SitecastError(
          'CANCELLED',
          `${call.context} on site ${this.url}: cancelled`,
          {},
          { cause: e },
        );
      }
      const reason = timeout.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : reasonOf(e);
      throw new SitecastError(
        'SITE_UNAVAILABLE',
        `${call.context}: site ${this.url} is unreachable (${reason})`,
        { field: 'url', url: this.url },
        { cause: e },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status < 200 || status >= 300) throw this.#errorOf(call, status, json);
    const checked = schema.safeParse(json);
    if (!checked.success) {
      throw new SitecastError(
        'SITE_UNAVAILABLE',
        `${call.context}: site ${this.url} answered ${status} with an unexpected shape (${checked.error.issues[0]?.message ?? 'not JSON'})`,
        { field: 'url', url: this.url },
      );
    }
    return checked.data;
  }

  #errorOf(call: SiteCall, status: number, json: unknown): SitecastError {
    const e = (json as { error?: { name?: unknown; message?: unknown; details?: unknown } } | undefined)
      ?.error;
    const name = typeof e?.name === 'string' ? e.name : undefined;
    const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}`;
    const details = e?.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {};
    const where = `${call.context} on site ${this.url}`;
    if (status === 401) {
      return new SitecastError(
        'ACCESS_DENIED',
        `${where}: the site rejected this link's secret (${message})`,
        {
          ...details,
          field: 'secret',
          url: this.url,
        },
      );
    }
    if (name && name in ErrorCatalog && status < 500) {
      return new SitecastError(name as ErrorCode, `${where}: ${message}`, details);
    }
    return new SitecastError('SITE_UNAVAILABLE', `${where}: HTTP ${status} ${message}`, {
      field: 'url',
      url: this.url,
      status,
    });
  }
}

function reasonOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}
