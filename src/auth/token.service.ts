import { SitecastError, type Clock } from '../kernel/index.js';
import { isRoleName, type Principal, type RoleName } from './roles.js';
import { generateToken, hashToken, looksLikeToken, tokenPrefix } from './token-secret.js';
import type { TokenRecord, TokenRepository } from './token.repository.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** A token as listed: never its secret or hash. */
export interface TokenInfo {
  id: number;
  name: string;
  role: RoleName;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  prefix: string;
}

export interface CreateTokenInput {
  readonly name: string;
  readonly role: RoleName;
  /** Epoch ms; null or absent: never expires. */
  readonly expiresAt?: number | null;
}

const MAX_NAME = 128;
/** lastUsedAt is a hint for people ("is this token still used?"), not worth a write per request. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * API bearer tokens (the AdminService's class SMS_AdminToken): created with a role, shown once, stored as
 * a SHA-256, revoked rather than deleted so the audit log's token ids keep their names.
 */
export class TokenService {
  readonly #verified = new VerifiedTokenCache();

  constructor(
    private readonly repo: TokenRepository,
    private readonly clock: Clock,
  ) {}

  /** Creates a token; the secret is returned ONCE (only its hash is stored). */
  async create(input: CreateTokenInput): Promise<{ token: string; info: TokenInfo }> {
    const name = checkName(input.name);
    if (!isRoleName(input.role)) {
      throw new SitecastError('INVALID_PARAMETER', `Role ${JSON.stringify(input.role)} is not a role`, {
        field: 'Role',
      });
    }
    const now = this.clock.now();
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `ExpiresAt ${describeTime(expiresAt)} must be a time in the future`,
        { field: 'ExpiresAt' },
      );
    }
    const token = generateToken();
    const record = await this.repo.insert({
      name,
      role: input.role,
      tokenHash: hashToken(token),
      prefix: tokenPrefix(token),
      createdAt: now,
      expiresAt,
    });
    if (!record) {
      throw new SitecastError('ALREADY_EXISTS', `an API token named ${JSON.stringify(name)} already exists`, {
        field: 'Name',
      });
    }
    return { token, info: toInfo(record) };
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.repo.list()).map(toInfo);
  }

  /** A token by id or name; NOT_FOUND otherwise. */
  async get(ref: string | number): Promise<TokenInfo> {
    const record = await this.find(ref);
    if (!record) {
      throw new SitecastError('NOT_FOUND', `API token ${JSON.stringify(String(ref))} does not exist`, {
        field: typeof ref === 'number' ? 'Id' : 'Name',
      });
    }
    return toInfo(record);
  }

  /** Revokes by id or name (NOT_FOUND otherwise); revoking a revoked token changes nothing. */
  async revoke(ref: string | number): Promise<void> {
    const token = await this.get(ref);
    await this.repo.revoke(token.id, this.clock.now());
    this.#verified.forget(token.id);
  }

  /**
   * Resolves an `Authorization` header value (`Bearer <token>`) to the caller. Missing, malformed,
   * unknown, revoked or expired: UNAUTHENTICATED, whose message never repeats the header, nor the token's
   * name or role.
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const token = bearerToken(authorization);
    const hash = hashToken(token);
    const now = this.clock.now();
    let record = this.#verified.get(hash, now);
    if (!record) {
      record = await this.repo.findByHash(hash);
      if (!record) throw unauthenticated('unknown', 'the bearer token is not valid');
      // Revoked ones too: they are refused below on every request, without a lookup.
      this.#verified.set(hash, record, now);
    }
    // Revocation and expiry are told apart: only the holder of the real secret gets this far.
    if (record.revokedAt !== null) {
      throw unauthenticated(
        'revoked',
        'the bearer token has been revoked; ask a Full Administrator for a new one',
      );
    }
    if (record.expiresAt !== null && record.expiresAt <= now) {
      throw unauthenticated(
        'expired',
        `the bearer token expired at ${new Date(record.expiresAt).toISOString()}; ask a Full Administrator for a new one`,
      );
    }
    if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_INTERVAL_MS) {
      await this.repo.touch(record.id, now, TOUCH_INTERVAL_MS);
      this.#verified.update(hash, { ...record, lastUsedAt: now });
    }
    return { tokenId: record.id, name: record.name, role: record.role };
  }

  private find(ref: string | number): Promise<TokenRecord | undefined> {
    if (typeof ref === 'number') return this.repo.findById(ref);
    const text = ref.trim();
    // Names are never all digits (checkName), so "12" can only mean id 12.
    return /^\d+$/.test(text) ? this.repo.findById(Number(text)) : this.repo.findByName(text);
  }
}

/** The token of `Bearer <token>`; UNAUTHENTICATED saying what is wrong with the header otherwise. */
function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') {
    throw unauthenticated('missing', 'no credentials: send the header `Authorization: Bearer <token>`');
  }
  // RFC 9110: the scheme is case-insensitive, one or more spaces before the credentials.
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(authorization);
  const scheme = match?.[1] ?? authorization.trim().split(/\s+/)[0]!;
  if (scheme.toLowerCase() !== 'bearer') {
    // The scheme is safe to echo (a word such as Basic); nothing after it is.
    const shown = /^[A-Za-z][A-Za-z0-9_-]{0,19}$/.test(scheme) ? ` ${scheme}` : '';
    throw unauthenticated('malformed', `the Authorization scheme must be Bearer, not${shown || ' that'}`);
  }
  const token = match?.[2];
  if (token === undefined || !looksLikeToken(token)) {
    throw unauthenticated(
      'malformed',
      'the bearer token is malformed: a sitecast token is sct_ and 43 base64url characters',
    );
  }
  return token;
}

function unauthenticated(reason: string, message: string): SitecastError {
  return new SitecastError('UNAUTHENTICATED', message, { field: 'Authorization', reason });
}

function checkName(name: string): string {
  const n = typeof name === 'string' ? name.trim() : '';
  const problem =
    n === ''
      ? 'must not be empty'
      : n.length > MAX_NAME
        ? `must be at most ${MAX_NAME} characters`
        : // eslint-disable-next-line no-control-regex -- control characters are what is refused
          /[\u0000-\u001f\u007f]/.test(n)
          ? 'must not contain control characters'
          : /^\d+$/.test(n)
            ? 'must not be only digits (tokens are revoked by id or by name)'
            : null;
  if (problem) {
    throw new SitecastError('INVALID_PARAMETER', `token Name ${JSON.stringify(name)} ${problem}`, {
      field: 'Name',
    });
  }
  return n;
}

function describeTime(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

function toInfo(r: TokenRecord): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
    prefix: r.prefix,
  };
}
