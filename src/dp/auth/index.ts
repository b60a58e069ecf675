export {
  AUTH_SCHEME,
  CHUNK_FRAMES_SHA256_HEADER,
  CONTENT_SHA256_HEADER,
  DEFAULT_SKEW_MS,
  isAuthFailure,
  keyIdOf,
  sha256OfBody,
  signRequest,
  verifyBodyHash,
  verifyChunkFramesDigest,
  verifyRequest,
  type AuthFailureReason,
  type BodyDigestMode,
  type SignInput,
  type SignedHeaders,
  type VerifiedRequest,
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
