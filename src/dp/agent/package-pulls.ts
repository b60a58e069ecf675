/**
 * Pull mode on the agent (`POST /dp/v1/packages/:pkg/pull`): the DP fetches a version's missing chunks
 * itself from ranked sources (./pull-sources.ts), a few MiB per request, paced by its own rate limit and
 * availability window (the same TransferPacer the site uses to push), stores each request's verified chunks
 * as one batch (as a pushed batch would be), then activates atomically as a push does. At most one pull per package runs; asking again for the same
 * version joins it (with the fresh grants), asking for another version replaces it.
 *
 * Resumable by construction: fetched chunks wait in the store's `incoming/` folder, so after a restart the
 * site re-issues the pull and only what is still missing is fetched.
 */
import { manifestStats, type ChunkId } from '../../content/index.js';
import {
  TransferPacer,
  parseAvailability,
  parseRateLimit,
  type AvailabilityMatrix,
  type RateLimit,
} from '../../bandwidth/index.js';
import { checkTimeZone } from '../../schedule/index.js';
import { isSitecastError, systemClock, toSitecastError, type Clock } from '../../kernel/index.js';
import { peekReadGrant } from '../auth/index.js';
import { normaliseBaseUrl } from '../http/dp-http-client.js';
import { MAX_READ_CHUNKS, type PullProgress, type PullRequest } from '../http/dp-wire.js';
import type { FolderDpStore } from '../local-folder/index.js';
import { decodeReceivedManifest } from '../local-folder/received-manifest.js';
import type { AgentStatsCounter } from './agent-stats.js';
import type { AgentStoreView } from './agent-store-view.js';
import { PullSources, type PullSourcesOptions } from './pull-sources.js';

/** Reads in flight at once: enough to hide a peer's latency, few enough for a small DP host. */
const parallelFetches = 4;
/**
 * Bytes of chunks asked for in one read (less under a rate limit: the pacer's batch): one request and one
 * incoming batch file per few MiB rather than per chunk is what makes pulling cheap.
 */
const readBatchBytes = 8 * 1024 * 1024;
/** Activation may find chunks gone since the missing query (a rotten seed range): fetch those this often. */
const maxActivationRounds = 3;

export interface PackagePullsOptions {
  readonly store: FolderDpStore;
  readonly view: AgentStoreView;
  readonly stats: AgentStatsCounter;
  readonly log: (line: string) => void;
  readonly clock?: Clock;
  readonly sources?: Omit<PullSourcesOptions, 'onFailure'>;
}

interface Run {
  readonly key: string;
  readonly controller: AbortController;
  readonly sources: PullSources;
  progress: PullProgress;
  limits: { limit: RateLimit; availability: AvailabilityMatrix; timeZone: string; priority: number };
}

export class PackagePulls {
  readonly #runs = new Map<string, Run>();
  readonly #clock: Clock;

  constructor(private readonly o: PackagePullsOptions) {
    this.#clock = o.clock ?? systemClock;
  }

  /** Starts (or joins) the pull of `request` for `packageId`; answers its progress right away. */
  start(packageId: string, request: PullRequest): PullProgress {
    const manifestBytes = Buffer.from(request.manifest, 'base64');
    // Checked now, so a bad request is a 400 rather than a failed pull found later.
    const manifest = decodeReceivedManifest(packageId, request.version, request.manifestId, manifestBytes);
    const limits = {
      limit: parseRateLimit(request.rateLimit),
      availability: parseAvailability(request.availability),
      timeZone: checkTimeZone(request.timeZone),
      priority: request.priority,
    };
    const sources = request.sources.map((s) => ({ ...s, url: normaliseBaseUrl(s.url) }));
    const grantsExpire = Math.min(...sources.map((s) => peekReadGrant(s.grant)?.exp ?? 0));
    const key = [request.version, request.manifestId, request.seedFromExisting, request.rebuild].join('|');
    const existing = this.#runs.get(packageId);
    if (existing?.key === key && existing.progress.state !== 'failed') {
      existing.sources.replace(sources);
      existing.limits = limits;
      existing.progress = { ...existing.progress, grantsExpire };
      return existing.progress;
    }
    existing?.controller.abort();
    const run: Run = {
      key,
      controller: new AbortController(),
      sources: new PullSources(sources, {
        ...this.o.sources,
        onFailure: (source, ids, reason) => {
          run.progress = { ...run.progress, sourceFailures: run.progress.sourceFailures + 1 };
          const what =
            ids.length === 1
              ? `chunk ${ids[0]!.slice(0, 12)}…`
              : `${ids.length} chunks (${ids[0]!.slice(0, 12)}…)`;
          this.o.log(`${packageId}: pull of ${what} from ${source.name} failed: ${reason}`);
        },
      }),
      limits,
      progress: {
        version: request.version,
        manifestId: request.manifestId,
        state: 'fetching',
        chunksTotal: 0,
        chunksDone: 0,
        bytesTotal: 0,
        bytesDone: 0,
        waitingUntil: null,
        sourceFailures: 0,
        grantsExpire,
        error: null,
      },
    };
    this.#runs.set(packageId, run);
    const names = sources.map((s) => `${s.name}#${s.rank}`).join(', ');
    this.o.log(`${packageId}: pulling SourceVersion ${request.version} from ${names}`);
    void this.#run(packageId, run, request, manifestBytes, manifestStats(manifest).uniqueChunks).then(
      () => {
        run.progress = { ...run.progress, state: 'done', waitingUntil: null };
      },
      (e: unknown) => {
        const err = toSitecastError(e, `pull of ${packageId}`);
        run.progress = { ...run.progress, state: 'failed', waitingUntil: null, error: err.toJSON() };
        if (!run.controller.signal.aborted)
          this.o.log(`${packageId}: pull failed: ${err.code} ${err.message}`);
      },
    );
    return run.progress;
  }

  progress(packageId: string): PullProgress | null {
    return this.#runs.get(packageId)?.progress ?? null;
  }

  /** Stops the package's pull (its package is being removed or its pending chunks dropped). */
  stop(packageId: string): void {
    this.#runs.get(packageId)?.controller.abort();
    this.#runs.delete(packageId);
  }

  stopAll(): void {
    for (const id of [...this.#runs.keys()]) this.stop(id);
  }

  async #run(
    packageId: string,
    run: Run,
    request: PullRequest,
    manifestBytes: Buffer,
    sizes: ReadonlyMap<ChunkId, number>,
  ): Promise<void> {
    const { store } = this.o;
    const signal = run.controller.signal;
    const ids = [...sizes.keys()];
    let missing: ChunkId[];
    if (request.rebuild) missing = [];
    else if (request.seedFromExisting) missing = await store.missingChunks(packageId, ids);
    else {
      const received = await this.o.view.receivedIds(packageId);
      missing = ids.filter((id) => !received.has(id));
    }
    // Pulled chunks go straight to their places in the new tree (planned-version.ts).
    if (missing.length > 0)
      await store.prepare(packageId, request.version, request.manifestId, manifestBytes);
    const pacer = new TransferPacer({
      clock: this.#clock,
      // Read through the run, so limits the site sends with a re-issued pull apply at the next chunk.
      get limit() {
        return run.limits.limit;
      },
      get availability() {
        return run.limits.availability;
      },
      get priority() {
        return run.limits.priority;
      },
      get timeZone() {
        return run.limits.timeZone;
      },
      maxBatchBytes: 16 * 1024 * 1024,
    });
    for (let round = 1; ; round++) {
      this.#grow(run, missing, sizes);
      await this.#fetchAll(packageId, run, missing, sizes, pacer);
      run.progress = { ...run.progress, state: 'activating', waitingUntil: null };
      try {
        await store.activate(packageId, request.version, request.manifestId, manifestBytes, {
          seedFromExisting: request.seedFromExisting,
          rebuild: request.rebuild,
          signal,
        });
        this.o.log(
          `${packageId}: SourceVersion ${request.version} active (pulled ${run.progress.chunksDone} chunk(s), ${run.progress.bytesDone} bytes)`,
        );
        return;
      } catch (e) {
        if (!isSitecastError(e, 'MISSING_CHUNKS') || round >= maxActivationRounds) throw e;
        missing = (e.details.missing as ChunkId[] | undefined) ?? [];
        this.o.log(`${packageId}: ${missing.length} chunk(s) still missing or bad; fetching them`);
        run.progress = { ...run.progress, state: 'fetching' };
      }
    }
  }

  #grow(run: Run, ids: readonly ChunkId[], sizes: ReadonlyMap<ChunkId, number>): void {
    let bytes = 0;
    for (const id of ids) bytes += sizes.get(id) ?? 0;
    run.progress = {
      ...run.progress,
      chunksTotal: run.progress.chunksTotal + ids.length,
      bytesTotal: run.progress.bytesTotal + bytes,
    };
  }

  async #fetchAll(
    packageId: string,
    run: Run,
    ids: readonly ChunkId[],
    sizes: ReadonlyMap<ChunkId, number>,
    pacer: TransferPacer,
  ): Promise<void> {
    const signal = run.controller.signal;
    let next = 0;
    let stopped = false;
    /** The next read: whole chunks up to the pacer's batch (read live: limits may change), at least one. */
    const take = (): ChunkId[] => {
      const target = Math.min(readBatchBytes, pacer.batchBytes());
      const batch: ChunkId[] = [];
      let bytes = 0;
      while (!stopped && next < ids.length && batch.length < MAX_READ_CHUNKS) {
        const size = sizes.get(ids[next]!) ?? 0;
        if (batch.length > 0 && bytes + size > target) break;
        batch.push(ids[next++]!);
        bytes += size;
      }
      return batch;
    };
    const worker = async (): Promise<void> => {
      try {
        for (let batch = take(); batch.length > 0; batch = take()) await fetchBatch(batch);
      } catch (e) {
        stopped = true; // the others finish the read in hand and stop
        throw e;
      }
    };
    const fetchBatch = async (batch: readonly ChunkId[]): Promise<void> => {
      const wanted = batch.map((id) => ({ id, size: sizes.get(id) ?? 0 }));
      const size = wanted.reduce((n, w) => n + w.size, 0);
      for (;;) {
        const gate = await pacer.beforeSend(size, signal);
        if (gate.go) break;
        // The window is closed: say until when, and wait here (the site follows; nothing is lost).
        run.progress = { ...run.progress, state: 'waiting', waitingUntil: gate.until };
        const waitMs = gate.until === null ? 15 * 60_000 : Math.max(1000, gate.until - this.#clock.now());
        await this.#clock.sleep(Math.min(waitMs, 15 * 60_000), signal);
      }
      if (run.progress.state === 'waiting') {
        run.progress = { ...run.progress, state: 'fetching', waitingUntil: null };
      }
      const t0 = this.#clock.now();
      const { chunks, unavailable, release } = await run.sources.fetchMany(wanted, signal);
      pacer.afterSend(this.#clock.now() - t0);
      if (chunks.length > 0) {
        const bytes = chunks.reduce((n, c) => n + c.bytes.length, 0);
        try {
          signal.throwIfAborted();
          // Verified by PullSources; putChunks hashes them again before it keeps any (one file per read).
          await this.o.store.putChunks(packageId, chunks, signal);
        } finally {
          release();
        }
        this.o.stats.add('pulled', chunks.length, bytes);
        run.progress = {
          ...run.progress,
          chunksDone: run.progress.chunksDone + chunks.length,
          bytesDone: run.progress.bytesDone + bytes,
        };
      }
      signal.throwIfAborted();
      if (unavailable) throw unavailable;
    };
    const workers = Array.from({ length: Math.min(parallelFetches, ids.length) }, worker);
    const results = await Promise.allSettled(workers);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
