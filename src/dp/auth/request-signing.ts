/**
 * HMAC-SHA256 request signing for `/dp/v1`. The site signs method, path+query, a timestamp, a nonce and
 * a digest of the body with the DP's secret; the agent checks the signature in constant time, the
 * timestamp against its clock (a captured request is useless once outside the window) and the nonce
 * against the ones it saw inside the window (so it cannot be replayed within it either). The body digest
 * is signed as a header, so the signature can be checked before the body is read; the body itself is then
 * checked against that header.
 *
 * Two body-digest modes, told apart by their header and by the signed line (so one can never pass for the
 * other): `body` (`x-content-sha256`, the SHA-256 of the whole body, checked by `verifyBodyHash`) for every
 * request, and `chunk-frames-v1` (`x-chunk-frames-sha256`, a digest of the chunk ids and lengths of a
 * chunk upload, in order) for chunk uploads only, whose receiver hashes every chunk against its id anyway:
 * signing the frames instead of the bytes saves a second pass over every pushed byte on both sides.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SitecastError } from '../../kernel/index.js';
import type { Clock } from '../../kernel/index.js';
import type { ReplayGuard } from './replay-guard.js';

export const AUTH_SCHEME = 'Sitecast-HMAC';
/** Lower-case, as Node presents incoming header names. */
export const CONTENT_SHA256_HEADER = 'x-content-sha256';
/** Lower-case; the signed digest of a chunk upload's frame headers (ids and lengths), mode `chunk-frames-v1`. */
export const CHUNK_FRAMES_SHA256_HEADER = 'x-chunk-frames-sha256';
/** The signed line of a `chunk-frames-v1` digest starts with this; a whole-body digest is bare hex. */
const CHUNK_FRAMES_MODE = 'chunk-frames-v1';
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
  /**
   * Mode `chunk-frames-v1`: the digest of the body's chunk frames (see ../http/chunk-batch.ts), signed
   * instead of the body's SHA-256 (`body` is then not hashed). Only for chunk uploads, which the receiver
   * checks chunk by chunk against their ids.
   */
  readonly chunkFramesSha256?: string;
  readonly clock: Clock;
}

/** `authorization` plus the body-digest header of the mode used (`x-content-sha256` or `x-chunk-frames-sha256`). */
export interface SignedHeaders {
  readonly authorization: string;
  readonly [header: string]: string;
}

/** What the signature covers of the body: its whole SHA-256, or the digest of its chunk frames. */
export type BodyDigestMode = 'body' | typeof CHUNK_FRAMES_MODE;

export interface VerifyInput {
  readonly secret: string;
  readonly method: string;
  readonly pathAndQuery: string;
  readonly authorization: string | undefined;
  readonly contentSha256: string | undefined;
  /** The `x-chunk-frames-sha256` header; a request carries it or `contentSha256`, never both. */
  readonly chunkFramesSha256?: string | undefined;
  /** Whether this request may sign its chunk frames instead of its body (chunk uploads only); default false. */
  readonly chunkFramesAllowed?: boolean;
  readonly clock: Clock;
  readonly skewMs?: number;
  readonly replay?: ReplayGuard;
}

export interface VerifiedRequest {
  readonly keyId: string;
  readonly ts: number;
  /** Which body check is still due: `verifyBodyHash`, or the chunk frames against `verifyChunkFramesDigest`. */
  readonly bodyDigest: BodyDigestMode;
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
  const frames = input.chunkFramesSha256;
  if (frames !== undefined && !hex64.test(frames)) {
    throw new SitecastError('INVALID_PARAMETER', 'chunkFramesSha256 must be a SHA-256 in lower-case hex', {
      field: 'chunkFramesSha256',
    });
  }
  const digest = frames ?? sha256OfBody(input.body);
  const mode: BodyDigestMode = frames === undefined ? 'body' : CHUNK_FRAMES_MODE;
  const ts = String(input.clock.now());
  const nonce = randomBytes(16).toString('hex');
  const sig = signature(
    input.secret,
    input.method,
    input.pathAndQuery,
    ts,
    nonce,
    signedDigestLine(mode, digest),
  );
  return {
    authorization: `${AUTH_SCHEME} keyId=${keyIdOf(input.secret)}, ts=${ts}, nonce=${nonce}, sig=${sig}`,
    [mode === 'body' ? CONTENT_SHA256_HEADER : CHUNK_FRAMES_SHA256_HEADER]: digest,
  };
}

/**
 * Checks a request's signature, timestamp and nonce (not yet its body: see `verifyBodyHash` and
 * `verifyChunkFramesDigest`). Throws ACCESS_DENIED with `details.field = 'authorization'` and a `reason`;
 * the agent answers that with 401.
 */
export function verifyRequest(input: VerifyInput): VerifiedRequest {
  const { authorization } = input;
  if (!authorization)
    fail('missing', `no ${AUTH_SCHEME} Authorization header: this DP agent requires the site's secret`);
  const parsed = parseAuthorization(authorization);
  if (!parsed)
    fail('malformed', `Authorization header is not "${AUTH_SCHEME} keyId=…, ts=…, nonce=…, sig=…"`);
  const mode: BodyDigestMode = input.chunkFramesSha256 === undefined ? 'body' : CHUNK_FRAMES_MODE;
  if (mode === CHUNK_FRAMES_MODE && input.contentSha256 !== undefined)
    fail(
      'malformed',
      `a request carries ${CONTENT_SHA256_HEADER} or ${CHUNK_FRAMES_SHA256_HEADER}, not both`,
    );
  if (mode === CHUNK_FRAMES_MODE && input.chunkFramesAllowed !== true)
    fail(
      'malformed',
      `${CHUNK_FRAMES_SHA256_HEADER} signs chunk uploads only; this request must sign its body`,
    );
  const bodyHash = (mode === 'body' ? input.contentSha256 : input.chunkFramesSha256) ?? '';
  if (!hex64.test(bodyHash)) {
    fail(
      'malformed',
      mode === 'body'
        ? `${CONTENT_SHA256_HEADER} must be the body's SHA-256 in lower-case hex`
        : `${CHUNK_FRAMES_SHA256_HEADER} must be the chunk frames' SHA-256 in lower-case hex`,
    );
  }
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
    signature(
      input.secret,
      input.method,
      input.pathAndQuery,
      String(parsed.ts),
      parsed.nonce,
      signedDigestLine(mode, bodyHash),
    ),
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
  return { keyId: parsed.keyId, ts: parsed.ts, bodyDigest: mode };
}

/** Checks the received body against the signed `x-content-sha256`, in constant time. */
export function verifyBodyHash(contentSha256: string, body: Uint8Array | undefined): void {
  const actual = Buffer.from(sha256OfBody(body), 'hex');
  const claimed = Buffer.from(hex64.test(contentSha256) ? contentSha256 : '', 'hex');
  if (claimed.length !== actual.length || !timingSafeEqual(claimed, actual)) {
    fail('body', 'request body does not match its signed SHA-256: it was altered or cut short on the way');
  }
}

/**
 * Checks the chunk frames (ids and lengths) found in the received body against the signed
 * `x-chunk-frames-sha256`, in constant time. The chunks' bytes are the receiver's to check against their ids.
 */
export function verifyChunkFramesDigest(chunkFramesSha256: string, actual: string): void {
  const claimed = Buffer.from(hex64.test(chunkFramesSha256) ? chunkFramesSha256 : '', 'hex');
  const found = Buffer.from(hex64.test(actual) ? actual : '', 'hex');
  if (claimed.length !== 32 || found.length !== 32 || !timingSafeEqual(claimed, found)) {
    fail(
      'body',
      'the chunks in the request body (ids, lengths or order) are not the signed ones: it was altered on the way',
    );
  }
}

/** True for the errors `verifyRequest`/`verifyBodyHash` throw (answered with HTTP 401). */
export function isAuthFailure(e: unknown): e is SitecastError {
  return e instanceof SitecastError && e.code === 'ACCESS_DENIED' && e.details.field === 'authorization';
}

/** The body-digest line of the signed text: bare hex for the whole body, `<mode>:<hex>` otherwise. */
function signedDigestLine(mode: BodyDigestMode, digest: string): string {
  return mode === 'body' ? digest : `${mode}:${digest}`;
}

function signature(
  secret: string,
  method: string,
  pathAndQuery: string,
  ts: string,
  nonce: string,
  digestLine: string,
): string {
  const canonical = ['SITECAST-HMAC-SHA256', method.toUpperCase(), pathAndQuery, ts, nonce, digestLine].join(
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
