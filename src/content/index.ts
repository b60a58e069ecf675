export type * from './types.js';
export { encodeManifest, decodeManifest, manifestIdOf, manifestStats, sha256Hex } from './manifest.js';
export {
  applyManifestDelta,
  encodeManifestDelta,
  manifestDeltaBaseId,
  MANIFEST_DELTA_MEDIA_TYPE,
} from './manifest-delta.js';
export { assertSafePath, assertNoCaseCollisions, unsafePathReason } from './safe-path.js';
export { ContentLibrary, type ContentLibraryOptions } from './content-library.js';
export { PackStore, type PackStoreOptions, type PackStoreStats, type ChunkToPut } from './pack-store.js';
export { FsManifestStore } from './manifest-store.js';
export { collectGarbage, type GcOptions, type ContentGcResult } from './gc.js';
export { ChunkerPool, type ChunkerPoolOptions } from './chunker-pool.js';
export {
  StatCacheStore,
  sameStats,
  statSource,
  type SourceFileStat,
  type SourceStats,
} from './stat-cache.js';
export { snapshotSource, type SourceSnapshot, type SnapshotSourceOptions } from './snapshot.js';
export { AlignedBufferPool, DIRECT_ALIGN, isDirectRefusal, openDirect, openDirectRead } from './direct-io.js';
