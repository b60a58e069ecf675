/**
 * The JSON shapes of `/dp/v1` (design §4), shared by the agent (which answers them) and the HTTP adapter
 * (which checks every answer with these schemas rather than trusting a peer).
 */
import { z } from 'zod';

export const DP_API_PREFIX = '/dp/v1';
/** Query parameter naming a long operation (activate, verify) so a later request can collect its result. */
export const OPERATION_PARAM = 'op';

const chunkId = z.string().regex(/^[0-9a-f]{64}$/);
const uint = z.number().int().nonnegative();

export const wireError = z.object({
  error: z.object({
    code: z.string(),
    name: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const missingRequest = z.object({
  packageId: z.string(),
  ids: z.array(z.string()),
});
export const missingResponse = z.object({ missing: z.array(chunkId) });

/** Most chunk ids one `POST /dp/v1/chunks/read` may name. */
export const MAX_READ_CHUNKS = 1024;
/**
 * Body of `POST /dp/v1/chunks/read` (a pull DP reading several chunks at once with a read grant). The
 * answer is a chunk batch body (../http/chunk-batch.ts) holding, in the order asked, the chunks the source
 * has; an id it does not have is left out (and counted in the `Sitecast-Chunks-Missing` header). Sources
 * stop adding chunks once the answer passes READ_ANSWER_MAX_BYTES: ask for less than that.
 */
export const chunkReadRequest = z.object({
  ids: z.array(chunkId).min(1).max(MAX_READ_CHUNKS),
});
export const READ_ANSWER_MAX_BYTES = 32 * 1024 * 1024;
export const CHUNKS_MISSING_HEADER = 'sitecast-chunks-missing';

export const pendingProgress = z.object({
  /** Chunks received for a version not yet activated, each verified by the DP on arrival. */
  chunks: uint,
  bytes: uint,
  /** The version being assembled right now, if any. */
  activating: z.object({ version: uint, manifestId: z.string() }).nullable(),
});
export type PendingProgress = z.infer<typeof pendingProgress>;

/** One place a pull DP may fetch chunks from: another agent or the site, with a read grant for it. */
export const pullSource = z.object({
  /** DP name or 'site', for messages. */
  name: z.string().min(1).max(200),
  /** Base URL under which `GET /dp/v1/chunks/:id` is served. */
  url: z.string().min(1).max(2048),
  /** A read grant (../auth/read-grant.ts) the source accepts. */
  grant: z.string().min(1).max(4096),
  /** 1 is tried first; equal ranks are tried in random order. */
  rank: z.number().int().min(1).max(1000),
});
export type PullSource = z.infer<typeof pullSource>;

/** Body of `POST /dp/v1/packages/:pkg/pull`. */
export const pullRequest = z.object({
  version: uint,
  manifestId: chunkId,
  /** The manifest's canonical bytes, base64. */
  manifest: z.string().min(1),
  /** False for Redistribute: every chunk is fetched again. */
  seedFromExisting: z.boolean(),
  /** Repair: rebuild the current version, re-fetching what turns out bad. */
  rebuild: z.boolean(),
  sources: z.array(pullSource).min(1).max(64),
  /** The DP's rate limit in its text form (`unlimited`, `4MB/s`, `pulse:…`, `hourly:…`). */
  rateLimit: z.string().max(400),
  /** 168 availability digits, Sunday 00:00 first. */
  availability: z.string().max(400),
  /** IANA zone the availability and hourly limits are read in. */
  timeZone: z.string().min(1).max(100),
  /** Package Priority 1–3, for the availability window. */
  priority: z.number().int().min(1).max(3),
});
export type PullRequest = z.infer<typeof pullRequest>;

export const pullStates = ['fetching', 'waiting', 'activating', 'done', 'failed'] as const;
export const pullProgress = z.object({
  version: uint,
  manifestId: z.string(),
  state: z.enum(pullStates),
  /** Chunks (bytes) the DP found it had to fetch, and how many it fetched, verified and stored. */
  chunksTotal: uint,
  chunksDone: uint,
  bytesTotal: uint,
  bytesDone: uint,
  /** While `waiting`: when the availability window opens (null: never). */
  waitingUntil: uint.nullable(),
  /** Chunks a source failed to deliver (timeouts, errors, bad hashes) that were fetched elsewhere. */
  sourceFailures: uint,
  /** When expired, the pull stops: the site issues fresh grants before that. */
  grantsExpire: uint,
  error: wireError.shape.error.nullable(),
});
export type PullProgress = z.infer<typeof pullProgress>;

export const packageStatus = z.object({
  packageId: z.string(),
  version: uint.nullable(),
  manifestId: z.string().nullable(),
  pending: pendingProgress,
  /** The latest pull of the package since the agent started; absent from agents without pull. */
  pull: pullProgress.nullable().optional(),
});
export type PackageStatus = z.infer<typeof packageStatus>;

/** Answer of `POST /dp/v1/packages/:pkg/pull`: the DP's state and the pull (null: already current). */
export const pullStarted = packageStatus.omit({ pending: true });

export const activated = z.object({ packageId: z.string(), version: uint, manifestId: z.string() });

/** 202 answer of a long operation still running: repeat the same request to keep waiting for it. */
export const stillRunning = z.object({ running: z.literal(true), operation: z.string() });

export const verifyReport = z.object({
  packageId: z.string(),
  version: uint,
  filesChecked: uint,
  bytesChecked: uint,
  badChunks: z.array(z.object({ id: z.string(), path: z.string(), offset: uint })),
  badFiles: z.array(z.string()),
});

export const agentHealth = z.object({
  online: z.boolean(),
  freeBytes: uint.optional(),
  /** Absent from agents older than the health monitor. */
  totalBytes: uint.optional(),
  error: z.string().optional(),
  keyId: z.string(),
  packages: z.array(z.object({ packageId: z.string(), version: uint, manifestId: z.string() })),
});
export type AgentHealth = z.infer<typeof agentHealth>;

export const okResponse = z.object({ ok: z.literal(true) });

const counter = z.object({ chunks: uint, bytes: uint });
/** What the agent counted since it started (`GET /dp/v1/stats`). */
export const agentStats = z.object({
  /** Chunks pushed to it that it verified and stored. */
  received: counter,
  /** Chunks pushed to it that it already had (sent again for nothing). */
  duplicates: counter,
  /** Chunks refused because their bytes did not hash to their id. */
  rejected: counter,
  /** Chunks it pulled from sources, verified and stored. */
  pulled: counter,
  /** Chunks it served to peers (`GET /dp/v1/chunks/:id`). */
  served: counter,
});
export type AgentStats = z.infer<typeof agentStats>;
