export { HttpDpAdapter, type HttpDpAdapterOptions } from './http-dp-adapter.js';
export { DpHttpClient, normaliseBaseUrl, type DpHttpClientOptions } from './dp-http-client.js';
export {
  chunkFramesDigest,
  decodeChunkBatch,
  encodeChunkBatch,
  CHUNK_FRAME_OVERHEAD,
  type ChunkFrame,
} from './chunk-batch.js';
export {
  DP_API_PREFIX,
  type AgentHealth,
  type AgentStats,
  type PackageStatus,
  type PendingProgress,
  type PullProgress,
  type PullRequest,
  type PullSource,
} from './dp-wire.js';
