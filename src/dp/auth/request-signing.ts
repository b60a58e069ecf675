/**
 * HMAC-SHA256 request signing for `/dp/v1`. The site signs method, path+query, a timestamp, a nonce and
 * the SHA-256 of the body with the DP's secret; the agent checks the signature in constant time, the
 * timestamp against its clock (a captured request is useless once outside the window) and the nonce
 * against the ones it saw inside the window (so it cannot be replayed within it either). The body hash is
 * signed as a header, so the signature can be checked before the body is read; the body itself is then
 * checked against that header (`verifyBodyHash`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SitecastError } from '../../kernel/index.js';
import type { Clock } from '../../kernel/index.js';
import type { ReplayGuard } from './replay-guard.js';

export const AUTH_SCHEME = 'Sitecast-HMAC';
/** Lower-case, as Node presents incoming header names. */
export const CONTENT_SHA256_HEADER = 'x-content-sha256';
/** How far a request's timestamp may be from the verifier's clock, either way. */
export const DEFAULT_SKEW_MS = 5 * 60_000;

const hex64 = /^[0-9a-f]{64}$/;
const hex32 = /^[0-9a-f]{32}$/;
const hex16 = /^[0-9a-f]{16}$/;

/** Why a request was refused; in the 401 body so an admin can tell a wrong secret from a wrong clock. */
export type AuthFailureReason =
  'missing' | 'malformed' | 'unknown-key' | 'stale' | 'replayed' | 'signature' | 'body';

export interface SignInput {
  readonly secret: string;
  readonly method: string;
  /** Path and query exactly as sent on the request line, e.g. `/dp/v1/chunks/batch?packageId=PS100001`. */
  readonly pathAndQuery: string;
  readonly body?: Uint8Array;
  readonly clock: Clock;
}

export interface SignedHeaders {
  readonly authorization: string;
  readonly 'x-content-sha256': string;
}

export interface VerifyInput {
  readonly secret: string;
  readonly method: string;
  readonly pathAndQuery: string;
  readonly authorization: string | undefined;
  readonly contentSha256: string | undefined;
  readonly clock: Clock;
  readonly skewMs?: number;
  readonly replay?: ReplayGuard;
}

/** The key id of a secret: names it in logs and 401s without revealing it (a fingerprint, not the secret). */
export function keyIdOf(secret: string): string {
  return createHash('sha256').update(`sitecast-dp-key-id\0${secret}`).digest('hex').slice(0, 16);
}

export function sha256OfBody(body: Uint8Array | undefined): string {
  return createHash('sha256')
    .update(body ?? new Uint8Array(0))
    .digest('hex');
}

/** The headers that authenticate one request. */
export function signRequest(input: SignInput): SignedHeaders {
  const bodyHash = sha256OfBody(input.body);
  const ts = String(input.clock.now());
  const nonce = randomBytes(16).toString('hex');
  const sig = signature(input.secret, input.method, input.pathAndQuery, ts, nonce, bodyHash);
  return {
    authorization: `${AUTH_SCHEME} keyId=${keyIdOf(input.secret)}, ts=${ts}, nonce=${nonce}, sig=${sig}`,
    [CONTENT_SHA256_HEADER]: bodyHash,
  };
}

/**
 * Checks a request's signature, timestamp and nonce (not yet its body: see `verifyBodyHash`). Throws
 * ACCESS_DENIED with `details.field = 'authorization'` and a `reason`; the agent answers that with 401.
 */
export function verifyRequest(input: VerifyInput): { readonly keyId: string; readonly ts: number } {
  const { authorization } = input;
  if (!authorization)
    fail('missing', `no ${AUTH_SCHEME} Authorization header: this DP agent requires the site's secret`);
  const parsed = parseAuthorization(authorization);
  if (!parsed)
    fail('malformed', `Authorization header is not "${AUTH_SCHEME} keyId=…, ts=…, nonce=…, sig=…"`);
  const bodyHash = input.contentSha256 ?? '';
  if (!hex64.test(bodyHash))
    fail('malformed', `${CONTENT_SHA256_HEADER} must be the body's SHA-256 in lower-case hex`);
  const ownKey = keyIdOf(input.secret);
  if (parsed.keyId !== ownKey) {
    fail(
      'unknown-key',
      `request signed with key ${parsed.keyId}, this agent's key is ${ownKey}: the site holds another secret`,
      {
        keyId: parsed.keyId,
      },
    );
  }
  const skew = input.skewMs ?? DEFAULT_SKEW_MS;
  const now = input.clock.now();
  if (Math.abs(now - parsed.ts) > skew) {
    fail(
      'stale',
      `request timestamp is ${Math.round((parsed.ts - now) / 1000)} s off this agent's clock (allowed ±${skew / 1000} s): check both clocks`,
      { serverTime: now },
    );
  }
  const expected = Buffer.from(
    signature(input.secret, input.method, input.pathAndQuery, String(parsed.ts), parsed.nonce, bodyHash),
    'hex',
  );
  const given = Buffer.from(parsed.sig, 'hex');
  if (!timingSafeEqual(expected, given)) {
    fail(
      'signature',
      'request signature does not match: wrong secret, or the request was altered on the way',
    );
  }
  // Only a request proven genuine may take a nonce slot: forgeries cannot fill the guard.
  if (input.replay && !input.replay.accept(parsed.nonce, parsed.ts + skew, now)) {
    fail('replayed', 'request nonce was already used: a replayed request is refused');
  }
  return { keyId: parsed.keyId, ts: parsed.ts };
}

/** Checks the received body against the signed `x-content-sha256`, in constant time. */
export function verifyBodyHash(contentSha256: string, body: Uint8Array | undefined): void {
  const actual = Buffer.from(sha256OfBody(body), 'hex');
  const claimed = Buffer.from(hex64.test(contentSha256) ? contentSha256 : '', 'hex');
  if (claimed.length !== actual.length || !timingSafeEqual(claimed, actual)) {
    fail('body', 'request body does not match its signed SHA-256: it was altered or cut short on the way');
  }
}

/** True for the errors `verifyRequest`/`verifyBodyHash` throw (answered with HTTP 401). */
export function isAuthFailure(e: unknown): e is SitecastError {
  return e instanceof SitecastError && e.code === 'ACCESS_DENIED' && e.details.field === 'authorization';
}

function signature(
  secret: string,
  method: string,
  pathAndQuery: string,
  ts: string,
  nonce: string,
  bodyHash: string,
): string {
  const canonical = ['SITECAST-HMAC-SHA256', method.toUpperCase(), pathAndQuery, ts, nonce, bodyHash].join(
    '\n',
  );
  return createHmac('sha256', secret).update(canonical).digest('hex');
}

interface ParsedAuthorization {
  readonly keyId: string;
  readonly ts: number;
  readonly nonce: string;
  readonly sig: string;
}

function parseAuthorization(header: string): ParsedAuthorization | null {
  const prefix = `${AUTH_SCHEME} `;
  if (!header.startsWith(prefix)) return null;
  const fields = new Map<string, string>();
  for (const part of header.slice(prefix.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const keyId = fields.get('keyId') ?? '';
  const ts = fields.get('ts') ?? '';
  const nonce = fields.get('nonce') ?? '';
  const sig = fields.get('sig') ?? '';
  if (!hex16.test(keyId) || !/^\d{1,16}$/.test(ts) || !hex32.test(nonce) || !hex64.test(sig)) return null;
  return { keyId, ts: Number(ts), nonce, sig };
}

function fail(reason: AuthFailureReason, message: string, extra: Record<string, unknown> = {}): never {
  throw new SitecastError('ACCESS_DENIED', message, { field: 'authorization', reason, ...extra });
}
