/**
 * Read grants: how a pull DP is allowed to read chunks from a source it holds no secret of. The site knows
 * every DP's secret; a pull DP must not learn another agent's. So the site signs a short-lived grant
 * `{dp, pkg, exp}` with the *source's* key (a source agent's own secret; for the site as a source, the
 * pull DP's own secret, which the site looks up by `dp`), and the pull DP presents it as
 * `Authorization: Sitecast-Grant <token>` on `GET /dp/v1/chunks/:id`. The source checks the HMAC in
 * constant time and the expiry against its clock; nothing else is allowed with a grant.
 *
 * Token: `v1.<base64url(JSON {dp, pkg, exp})>.<hex HMAC-SHA256(key, "SITECAST-GRANT-V1\n" + payload part)>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { SitecastError } from '../../kernel/index.js';

export const GRANT_SCHEME = 'Sitecast-Grant';

export interface ReadGrant {
  /** Name of the pull DP the grant was issued to (for logs: whoever holds the token may use it). */
  readonly dp: string;
  /** The package whose pull it serves. */
  readonly pkg: string;
  /** Epoch ms after which it is refused. */
  readonly exp: number;
}

const grantShape = z.object({
  dp: z.string().min(1).max(200),
  pkg: z.string().min(1).max(64),
  exp: z.number().int().nonnegative(),
});

/** The token for `grant`, signed with the source's `key`. */
export function issueReadGrant(key: string, grant: ReadGrant): string {
  const payload = Buffer.from(JSON.stringify({ dp: grant.dp, pkg: grant.pkg, exp: grant.exp })).toString(
    'base64url',
  );
  return `v1.${payload}.${grantSignature(key, payload)}`;
}

/** The grant inside `token` without checking it: which key to verify with is chosen from `dp`. */
export function peekReadGrant(token: string): ReadGrant | null {
  const m = /^v1\.([A-Za-z0-9_-]{1,2048})\.([0-9a-f]{64})$/.exec(token);
  if (!m) return null;
  try {
    const parsed = grantShape.safeParse(JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Checks `token` (signature with `key`, expiry at `now`) and returns its grant. Throws ACCESS_DENIED with
 * `details.field = 'authorization'` (answered 401, like a bad request signature) and `reason: 'grant'`.
 */
export function verifyReadGrant(key: string, token: string, now: number): ReadGrant {
  const grant = peekReadGrant(token);
  if (!grant) refuse(`${GRANT_SCHEME} token is malformed`);
  const payload = token.split('.')[1]!;
  const expected = Buffer.from(grantSignature(key, payload), 'hex');
  const given = Buffer.from(token.split('.')[2]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(expected, given)) {
    refuse(`read grant for ${grant.dp} does not match this source's key: it was issued for another source`);
  }
  if (grant.exp < now) {
    refuse(
      `read grant for ${grant.dp} expired ${Math.round((now - grant.exp) / 1000)} s ago: the site issues a new one`,
    );
  }
  return grant;
}

/** The token of an `Authorization: Sitecast-Grant <token>` header, or null for any other header. */
export function grantTokenOf(authorization: string | undefined): string | null {
  const prefix = `${GRANT_SCHEME} `;
  return authorization?.startsWith(prefix) ? authorization.slice(prefix.length).trim() : null;
}

function grantSignature(key: string, payload: string): string {
  return createHmac('sha256', key).update(`SITECAST-GRANT-V1\n${payload}`).digest('hex');
}

function refuse(message: string): never {
  throw new SitecastError('ACCESS_DENIED', message, { field: 'authorization', reason: 'grant' });
}
