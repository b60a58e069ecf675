/** The DpAdapter of a remote DP: a `sitecast dp serve` agent reached over `/dp/v1` (design §4). */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  decodeManifest,
  encodeManifestDelta,
  MANIFEST_DELTA_MEDIA_TYPE,
  type ChunkId,
  type Manifest,
} from '../../content/index.js';
import { isSitecastError, SitecastError } from '../../kernel/index.js';
import type {
  ActivateOptions,
  DpAdapter,
  DpChunk,
  DpHealth,
  DpPackageState,
  DpVerifyReport,
  PrepareOptions,
} from '../dp-adapter.js';
import { CHUNK_FRAME_OVERHEAD, chunkBatchParts, chunkFramesDigest } from './chunk-batch.js';
import { DpHttpClient, type DpHttpClientOptions, type DpRequest } from './dp-http-client.js';
import {
  DP_API_PREFIX,
  OPERATION_PARAM,
  activated,
  agentHealth,
  agentStats,
  pullStarted,
  missingResponse,
  okResponse,
  packageStatus,
  stillRunning,
  verifyReport,
  type AgentHealth,
  type AgentStats,
  type PackageStatus,
  type PendingProgress,
  type PullRequest,
} from './dp-wire.js';

export interface HttpDpAdapterOptions extends DpHttpClientOptions {
  /** Payload bytes per chunk batch (a bigger single chunk goes alone); default 16 MiB. */
  readonly batchBytes?: number;
  /** Chunk ids per missing-chunks query; default 10 000 (~700 KB of JSON). */
  readonly idsPerQuery?: number;
  /** Sends of one chunk batch when connections break under it (each resend carries only what is missing); default 6. */
  readonly batchAttempts?: number;
}

export class HttpDpAdapter implements DpAdapter {
  readonly kind = 'http' as const;
  readonly client: DpHttpClient;
  readonly #batchBytes: number;
  readonly #idsPerQuery: number;
  readonly #batchAttempts: number;
  /** False once the agent refused a frame-signed batch as malformed (it predates `chunk-frames-v1`). */
  #signFrames = true;
  /** False once the agent answered 404 to `prepare` (it predates planned versions). */
  #canPrepare = true;

  constructor(options: HttpDpAdapterOptions) {
    this.#batchAttempts = options.batchAttempts ?? 6;
    this.client = new DpHttpClient(options);
    this.#batchBytes = options.batchBytes ?? 16 * 1024 * 1024;
    this.#idsPerQuery = options.idsPerQuery ?? 10_000;
  }

  get url(): string {
    return this.client.url;
  }

  async missingChunks(packageId: string, ids: readonly ChunkId[], signal?: AbortSignal): Promise<ChunkId[]> {
    const missing: ChunkId[] = [];
    for (let i = 0; i < ids.length; i += this.#idsPerQuery) {
      const page = ids.slice(i, i + this.#idsPerQuery);
      const { value } = await this.client.json(
        {
          ...json({ packageId, ids: page }),
          method: 'POST',
          path: `${DP_API_PREFIX}/chunks/missing`,
          signal,
          context: `missingChunks ${packageId}`,
        },
        missingResponse,
      );
      missing.push(...value.missing);
    }
    return missing;
  }

  async putChunks(packageId: string, chunks: readonly DpChunk[], signal?: AbortSignal): Promise<void> {
    let batch: DpChunk[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.#sendBatch(packageId, batch, signal);
      batch = [];
      size = 0;
    };
    for (const chunk of chunks) {
      const cost = chunk.bytes.length + CHUNK_FRAME_OVERHEAD;
      if (size > 0 && size + cost > this.#batchBytes) await flush();
      batch.push(chunk);
      size += cost;
    }
    await flush();
  }

  /**
   * Sends one batch. When the connection breaks or times out under it, the batch may or may not have
   * landed: the DP is asked which of its chunks it still lacks and only those are sent again, so a chunk
   * that landed is never sent twice.
   */
  async #sendBatch(packageId: string, chunks: readonly DpChunk[], signal?: AbortSignal): Promise<void> {
    let batch = chunks;
    let landedMaybe = false;
    for (let attempt = 1; ; attempt++) {
      try {
        if (landedMaybe) {
          const still = new Set(
            await this.missingChunks(
              packageId,
              batch.map((c) => c.id),
              signal,
            ),
          );
          batch = batch.filter((c) => still.has(c.id));
          landedMaybe = false;
          if (batch.length === 0) return;
        }
        await this.#postBatch(packageId, batch, signal);
        return;
      } catch (e) {
        if (!isSitecastError(e, 'DP_UNAVAILABLE') || attempt >= this.#batchAttempts || signal?.aborted)
          throw e;
        // Whether the batch (or a failed missing-chunk query) got through is unknown: ask before resending.
        landedMaybe = true;
        await delay(Math.min(3000, 100 * 2 ** attempt), undefined, signal ? { signal } : {}).catch(
          () => undefined,
        );
      }
    }
  }

  /**
   * One POST of a batch, signing its frame headers rather than its bytes (the agent hashes each chunk
   * against its id); an agent that refuses that as malformed predates it and gets whole-body signing.
   */
  async #postBatch(packageId: string, batch: readonly DpChunk[], signal?: AbortSignal): Promise<void> {
    const request: DpRequest = {
      method: 'POST',
      path: `${DP_API_PREFIX}/chunks/batch?packageId=${encodeURIComponent(packageId)}`,
      body: chunkBatchParts(batch),
      contentType: 'application/octet-stream',
      signal,
      context: `putChunks ${packageId}`,
      retryBroken: false,
    };
    if (this.#signFrames) {
      const frames = batch.map((c) => ({ id: c.id, length: c.bytes.length }));
      try {
        await this.client.json(
          { ...request, chunkFramesSha256: chunkFramesDigest(frames) },
          okResponse.passthrough(),
        );
        return;
      } catch (e) {
        if (!(isSitecastError(e, 'ACCESS_DENIED') && e.details.reason === 'malformed')) throw e;
        this.#signFrames = false;
      }
    }
    await this.client.json(request, okResponse.passthrough());
  }

  async activate(
    packageId: string,
    version: number,
    manifestId: string,
    manifestBytes: Buffer,
    options: ActivateOptions,
  ): Promise<void> {
    const query = new URLSearchParams({
      manifestId,
      seedFromExisting: String(options.seedFromExisting),
      rebuild: String(options.rebuild === true),
    });
    const send = (body: Buffer, contentType: DpRequest['contentType']) =>
      this.#longOperation(
        {
          method: 'PUT',
          path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}/versions/${version}?${query.toString()}`,
          body,
          contentType,
          signal: options.signal,
          context: `activate ${packageId} version ${version}`,
        },
        activated,
      );
    await sendManifest(send, manifestId, manifestBytes, options.base);
  }

  /** `PUT …/versions/:v/plan` (planned versions); an agent that predates it answers 404 and is left alone. */
  async prepare(
    packageId: string,
    version: number,
    manifestId: string,
    manifestBytes: Buffer,
    options: PrepareOptions,
  ): Promise<void> {
    if (!this.#canPrepare) return;
    const query = new URLSearchParams({ manifestId });
    const send = (body: Buffer, contentType: DpRequest['contentType']) =>
      this.client.json(
        {
          method: 'PUT',
          path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}/versions/${version}/plan?${query.toString()}`,
          body,
          contentType,
          signal: options.signal,
          context: `prepare ${packageId} version ${version}`,
        },
        okResponse,
      );
    try {
      await sendManifest(send, manifestId, manifestBytes, options.base);
    } catch (e) {
      // An agent's unknown route is NOT_FOUND on field `path` (dp-agent.ts); a bare 404 (a proxy) is FAILED.
      const noRoute =
        (isSitecastError(e, 'NOT_FOUND') && e.details.field === 'path') ||
        (isSitecastError(e, 'FAILED') && e.details.status === 404);
      if (!noRoute) throw e;
      this.#canPrepare = false;
    }
  }

  async packageState(packageId: string): Promise<DpPackageState | null> {
    const status = await this.#status(packageId);
    return status.version === null || status.manifestId === null
      ? null
      : { version: status.version, manifestId: status.manifestId };
  }

  /**
   * Pull mode: asks the DP to fetch the version's missing chunks itself from `request.sources` and activate
   * it; answers at once with the pull's progress (null when the version is already current).
   */
  async pull(packageId: string, request: PullRequest, signal?: AbortSignal): Promise<PackageStatus> {
    const { value } = await this.client.json(
      {
        ...json(request),
        method: 'POST',
        path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}/pull`,
        signal,
        context: `pull ${packageId} version ${request.version}`,
      },
      pullStarted,
    );
    return { ...value, pending: { chunks: 0, bytes: 0, activating: null } };
  }

  /** Stops the package's pull on the DP (cancelled by an admin); chunks that landed stay. */
  async stopPull(packageId: string): Promise<void> {
    await this.client.json(
      {
        method: 'DELETE',
        path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}/pull`,
        context: `stopPull ${packageId}`,
      },
      okResponse,
    );
  }

  /** The package as the DP reports it: current version, pending chunks and the latest pull. */
  status(packageId: string, signal?: AbortSignal): Promise<PackageStatus> {
    return this.#status(packageId, signal);
  }

  /** What the agent counted since it started (chunks received, sent twice, rejected, pulled, served). */
  async stats(signal?: AbortSignal): Promise<AgentStats> {
    return (
      await this.client.json(
        { method: 'GET', path: `${DP_API_PREFIX}/stats`, signal, context: 'stats' },
        agentStats,
      )
    ).value;
  }

  /** What the DP has received and verified for a pending version of the package, by its own count. */
  async progress(packageId: string, signal?: AbortSignal): Promise<PendingProgress> {
    return (await this.#status(packageId, signal)).pending;
  }

  async verify(packageId: string, signal?: AbortSignal): Promise<DpVerifyReport> {
    return this.#longOperation(
      {
        method: 'POST',
        path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}/verify`,
        signal,
        context: `verify ${packageId}`,
      },
      verifyReport,
    );
  }

  async remove(packageId: string): Promise<void> {
    await this.client.json(
      {
        method: 'DELETE',
        path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}`,
        context: `remove ${packageId}`,
      },
      okResponse,
    );
  }

  async discardPending(packageId: string): Promise<void> {
    await this.client.json(
      {
        method: 'POST',
        path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}/discard-pending`,
        context: `discardPending ${packageId}`,
      },
      okResponse,
    );
  }

  async health(signal?: AbortSignal): Promise<DpHealth> {
    try {
      const h = await this.checkHealth(signal);
      return {
        online: h.online,
        ...(h.freeBytes !== undefined && { freeBytes: h.freeBytes }),
        ...(h.totalBytes !== undefined && { totalBytes: h.totalBytes }),
        ...(h.error !== undefined && { error: h.error }),
      };
    } catch (e) {
      return { online: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The agent's health, or the error that prevents reaching it (DP_UNAVAILABLE, ACCESS_DENIED for a wrong secret). */
  async checkHealth(signal?: AbortSignal): Promise<AgentHealth> {
    return (
      await this.client.json(
        { method: 'GET', path: `${DP_API_PREFIX}/health`, signal, context: 'health' },
        agentHealth,
      )
    ).value;
  }

  async #status(packageId: string, signal?: AbortSignal) {
    return (
      await this.client.json(
        {
          method: 'GET',
          path: `${DP_API_PREFIX}/packages/${encodeURIComponent(packageId)}`,
          signal,
          context: `packageState ${packageId}`,
        },
        packageStatus,
      )
    ).value;
  }

  /** Repeats the request under one operation id while the agent answers 202 (still running). */
  async #longOperation<S extends typeof activated | typeof verifyReport>(request: DpRequest, schema: S) {
    const opPath = (): string =>
      `${request.path}${request.path.includes('?') ? '&' : '?'}${OPERATION_PARAM}=${randomBytes(12).toString('base64url')}`;
    let path = opPath();
    for (let restarts = 0; ;) {
      let response;
      try {
        response = await this.client.send({ ...request, path });
      } catch (e) {
        // The agent cancelled it because our connection broke for longer than its grace: we did not
        // cancel, so start it again under a new id (activate and verify are idempotent).
        if (!isSitecastError(e, 'CANCELLED') || request.signal?.aborted || ++restarts > 2) throw e;
        path = opPath();
        continue;
      }
      const json = parseJson(response.bytes);
      if (response.status === 202 && stillRunning.safeParse(json).success) continue;
      const checked = schema.safeParse(json);
      if (!checked.success) {
        throw new SitecastError(
          'DP_UNAVAILABLE',
          `${request.context}: DP agent ${this.url} answered an unexpected shape`,
          {
            field: 'url',
            url: this.url,
          },
        );
      }
      return checked.data as ReturnType<S['parse']>;
    }
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function json(value: unknown): Pick<DpRequest, 'body' | 'contentType'> {
  return { body: Buffer.from(JSON.stringify(value)), contentType: 'application/json' };
}

/**
 * Sends a manifest with `send`: as a delta against `base` when given (a few hundred bytes instead of ~90 per
 * chunk), else whole; whole again when the DP holds another base by now or predates deltas.
 */
async function sendManifest(
  send: (body: Buffer, contentType: DpRequest['contentType']) => Promise<unknown>,
  manifestId: string,
  manifestBytes: Buffer,
  base: { readonly manifestId: string; readonly manifest: Manifest } | undefined,
): Promise<void> {
  if (!base || base.manifestId === manifestId) {
    await send(manifestBytes, 'application/octet-stream');
    return;
  }
  const delta = encodeManifestDelta(base.manifest, base.manifestId, decodeManifest(manifestBytes));
  try {
    await send(delta, MANIFEST_DELTA_MEDIA_TYPE);
  } catch (e) {
    const staleBase = isSitecastError(e, 'STALE_OBJECT') && e.details.field === 'baseManifestId';
    const oldAgent = isSitecastError(e, 'INVALID_PARAMETER') && e.details.field === 'content-type';
    if (!staleBase && !oldAgent) throw e;
    await send(manifestBytes, 'application/octet-stream');
  }
}
