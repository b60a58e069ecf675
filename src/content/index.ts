export type * from './types.js';
export { encodeManifest, decodeManifest, manifestIdOf, manifestStats, sha256Hex } from './manifest.js';
export { assertSafePath, assertNoCaseCollisions, unsafePathReason } from './safe-path.js';
