/**
 * The text of an API token: `sct_` and 32 random bytes in base64url (43 characters). The prefix makes a
 * leaked token easy to recognise (secret scanners, logs); only its SHA-256 is stored.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'sct_';

/** How many characters of a token are kept in clear to tell tokens apart: `sct_` and 8 more (48 bits). */
const SHOWN_LENGTH = TOKEN_PREFIX.length + 8;

const tokenShape = /^sct_[A-Za-z0-9_-]{43}$/;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Hex SHA-256 of the whole token text: what is stored and looked up. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The part of a token shown in lists (`sct_AbCdEfGh`): too short to guess the rest from. */
export function tokenPrefix(token: string): string {
  return token.slice(0, SHOWN_LENGTH);
}

export function looksLikeToken(text: string): boolean {
  return tokenShape.test(text);
}
