export {
  AUTH_SCHEME,
  CONTENT_SHA256_HEADER,
  DEFAULT_SKEW_MS,
  isAuthFailure,
  keyIdOf,
  sha256OfBody,
  signRequest,
  verifyBodyHash,
  verifyRequest,
  type AuthFailureReason,
  type SignInput,
  type SignedHeaders,
  type VerifyInput,
} from './request-signing.js';
export { ReplayGuard } from './replay-guard.js';
export {
  MIN_SECRET_LENGTH,
  checkDpSecret,
  ensureSecretFile,
  generateDpSecret,
  readSecretFile,
} from './dp-secret.js';
export {
  GRANT_SCHEME,
  grantTokenOf,
  issueReadGrant,
  peekReadGrant,
  verifyReadGrant,
  type ReadGrant,
} from './read-grant.js';
