/**
 * The optional bearer token of the content routes. Both sides are hashed before the constant-time
 * comparison, so neither the token's bytes nor its length leak through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SitecastError } from '../../kernel/index.js';

export type TokenCheck = (authorization: string | undefined) => boolean;

export function bearerTokenCheck(token: string): TokenCheck {
  if (token.length === 0) {
    // An empty token would make `Authorization: Bearer ` a credential: refuse the configuration instead.
    throw new SitecastError('INVALID_PARAMETER', 'content token must not be empty when set', {
      field: 'token',
    });
  }
  const expected = digest(token);
  return (authorization) => {
    const m = authorization === undefined ? null : /^Bearer +(\S+) *$/i.exec(authorization);
    return m !== null && timingSafeEqual(digest(m[1]!), expected);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
