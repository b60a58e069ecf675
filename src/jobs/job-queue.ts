import type { Kysely, Transaction } from 'kysely';
import type { Database, DialectCapabilities } from '../db/index.js';
import { SitecastError, type Clock } from '../kernel/index.js';
import { backoffDelayMs, defaultBackoff } from './backoff.js';
import { JobRepository, type Holder } from './job.repository.js';
import { compareJobs, parseEnqueueRequest, serialisePayload, toJob } from './job.schemas.js';
import type {
  BackoffPolicy,
  CompleteResult,
  ConcurrencyLimits,
  EnqueueRequest,
  FailResult,
  HeartbeatResult,
  Job,
  JobFilter,
  ReleaseResult,
} from './types.js';

/** Configuration Manager's distribution manager: 3 packages at once, 5 DPs each. */
export const defaultLimits: ConcurrencyLimits = { packages: 3, perPackage: 5 };
export const defaultMaxAttempts = 5;

export interface JobQueueOptions {
  readonly limits?: ConcurrencyLimits;
  readonly backoff?: BackoffPolicy;
  /** Source of jitter, [0, 1); injectable so tests can pin it. */
  readonly random?: () => number;
}

/** What should happen to a running job that stops without success. */
interface Settlement {
  readonly retry: boolean;
  readonly runAt: number;
  readonly attemptsDelta: number;
  readonly lastError: string | null;
}

/** The durable job queue: enqueue with coalescing, leased claims within limits, retries, cancellation. */
export class JobQueue {
  readonly #db: Kysely<Database>;
  readonly #repo: JobRepository;
  readonly #clock: Clock;
  readonly #limits: ConcurrencyLimits;
  readonly #backoff: BackoffPolicy;
  readonly #random: () => number;

  constructor(
    db: Kysely<Database>,
    capabilities: DialectCapabilities,
    clock: Clock,
    options: JobQueueOptions = {},
  ) {
    this.#db = db;
    this.#repo = new JobRepository(db, capabilities);
    this.#clock = clock;
    this.#limits = options.limits ?? defaultLimits;
    this.#backoff = options.backoff ?? defaultBackoff;
    this.#random = options.random ?? Math.random;
    for (const field of ['packages', 'perPackage'] as const) {
      const v = this.#limits[field];
      if (!Number.isInteger(v) || v < 1)
        throw new SitecastError(
          'INVALID_PARAMETER',
          `job limits.${field} must be an integer >= 1, got ${v}`,
          {
            field: `limits.${field}`,
          },
        );
    }
  }

  get limits(): ConcurrencyLimits {
    return this.#limits;
  }

  /**
   * Adds a job, or folds it into the queued job of the same key (earlier runAt, higher priority, newer
   * payload). Pass `trx` to enqueue inside the caller's transaction.
   */
  async enqueue(
    req: EnqueueRequest,
    trx?: Transaction<Database>,
  ): Promise<{ readonly id: number; readonly coalesced: boolean }> {
    parseEnqueueRequest(req);
    const exec = trx ?? this.#db;
    const now = this.#clock.now();
    const values = {
      payload: serialisePayload(req.payload, req.key),
      packageId: req.packageId ?? null,
      priority: req.priority ?? 2,
      runAt: req.runAt ?? now,
      maxAttempts: req.maxAttempts ?? defaultMaxAttempts,
      now,
    };
    // Insert-or-coalesce can race with a claim taking the queued twin; each round re-checks, and one
    // of the two statements succeeds unless the key is hammered by other writers.
    for (let round = 0; round < 5; round++) {
      const id = await this.#repo.insertQueued(
        {
          kind: req.kind,
          key: req.key,
          package_id: values.packageId,
          payload: values.payload,
          priority: values.priority,
          state: 'queued',
          run_at: values.runAt,
          attempts: 0,
          max_attempts: values.maxAttempts,
          created_at: now,
          updated_at: now,
        },
        exec,
      );
      if (id !== undefined) return { id: Number(id), coalesced: false };
      const twin = await this.#repo.coalesceQueued(req.key, values, exec);
      if (twin !== undefined) return { id: Number(twin), coalesced: true };
    }
    throw new SitecastError('FAILED', `job ${req.key}: could not enqueue, the key kept changing`, {
      field: 'key',
    });
  }

  /** Claims up to `max` runnable jobs for `owner` with a lease of `leaseMs`, best first, within limits. */
  async claim(owner: string, max: number, leaseMs: number, kinds?: readonly string[]): Promise<Job[]> {
    requirePositive('leaseMs', leaseMs);
    if (!Number.isInteger(max) || max < 0)
      throw new SitecastError('INVALID_PARAMETER', `claim max must be an integer >= 0, got ${max}`, {
        field: 'max',
      });
    const now = this.#clock.now();
    const rows = await this.#repo.claim({
      owner,
      max,
      now,
      leaseExpires: now + leaseMs,
      limits: this.#limits,
      kinds,
    });
    return rows.map(toJob).sort(compareJobs);
  }

  /** Extends the lease; tells the holder whether the job was cancelled or the lease lost meanwhile. */
  async heartbeat(id: number, owner: string, leaseMs: number): Promise<HeartbeatResult> {
    requirePositive('leaseMs', leaseMs);
    const now = this.#clock.now();
    const r = await this.#repo.extendLease(id, owner, now + leaseMs, now);
    if (!r) return 'lost';
    return r.cancelRequested ? 'cancelled' : 'ok';
  }

  /** Marks the job done. A handler that finished despite a cancel request did the work: still done. */
  async complete(id: number, owner: string): Promise<CompleteResult> {
    const ok = await this.#repo.finish(
      id,
      { owner },
      { state: 'done', lastError: null, now: this.#clock.now() },
    );
    return ok ? 'done' : 'lost';
  }

  /**
   * Records a failed attempt: re-queued after exponential backoff with full jitter when `retry` and
   * attempts remain, else failed; 'cancelled' when a cancel was requested meanwhile.
   */
  async fail(id: number, owner: string, error: string, retry: boolean): Promise<FailResult> {
    const job = await this.get(id);
    if (!job || job.state !== 'running' || job.leaseOwner !== owner) return 'lost';
    const canRetry = retry && job.attempts < job.maxAttempts;
    const now = this.#clock.now();
    const runAt = now + backoffDelayMs(job.attempts, this.#backoff, this.#random);
    const r = await this.#settle(
      id,
      { owner },
      { retry: canRetry, runAt, attemptsDelta: 0, lastError: error },
    );
    return r === 'requeued' ? 'retrying' : r;
  }

  /**
   * Gives a running job back to the queue without counting the attempt: a worker shutting down (run again
   * now), or a handler deferring to `runAt` (a closed availability window).
   */
  async release(id: number, owner: string, runAt?: number): Promise<ReleaseResult> {
    const job = await this.get(id);
    if (!job || job.state !== 'running' || job.leaseOwner !== owner) return 'lost';
    const r = await this.#settle(
      id,
      { owner },
      {
        retry: true,
        runAt: Math.max(runAt ?? 0, this.#clock.now()),
        attemptsDelta: -1,
        lastError: job.lastError,
      },
    );
    return r === 'requeued' ? 'released' : r === 'failed' ? 'lost' : r;
  }

  /** Makes queued jobs matching `filter` due now (e.g. deferred transfers when maintenance mode ends). */
  async expedite(filter: JobFilter): Promise<number> {
    return this.#repo.expedite(filter, this.#clock.now());
  }

  /** Re-queues running jobs whose lease expired (failed when out of attempts); returns how many. */
  async reapExpired(): Promise<number> {
    const now = this.#clock.now();
    let reaped = 0;
    for (const row of await this.#repo.expiredRunning(now)) {
      const job = toJob(row);
      const lastError = `lease of ${job.leaseOwner ?? '?'} expired on attempt ${job.attempts}/${job.maxAttempts}`;
      const r = await this.#settle(
        job.id,
        { expiredAt: now },
        { retry: job.attempts < job.maxAttempts, runAt: now, attemptsDelta: 0, lastError },
      );
      if (r !== 'lost') reaped++;
    }
    return reaped;
  }

  /**
   * Cancels queued jobs matching the key or key prefix and flags running ones: they keep their key and
   * slot until their handler stops (it sees the cancel at its next heartbeat), then end 'cancelled'.
   */
  async cancel(match: { readonly key?: string; readonly keyPrefix?: string }): Promise<number> {
    if (!match.key && !match.keyPrefix)
      throw new SitecastError('INVALID_PARAMETER', 'cancel needs a key or a non-empty keyPrefix', {
        field: 'key',
      });
    return this.#repo.cancel(
      {
        ...(match.key ? { key: match.key } : {}),
        ...(match.keyPrefix ? { keyPrefix: match.keyPrefix } : {}),
      },
      this.#clock.now(),
    );
  }

  async get(id: number): Promise<Job | undefined> {
    const row = await this.#repo.findById(id);
    return row && toJob(row);
  }

  async list(filter: JobFilter = {}): Promise<Job[]> {
    return (await this.#repo.list(filter)).map(toJob);
  }

  /** How many matching jobs are running, or queued and due now; 0 means idle. */
  async pending(filter: JobFilter = {}): Promise<number> {
    return this.#repo.countPending(filter, this.#clock.now());
  }

  /** Deletes done, failed and cancelled jobs last touched more than `olderThanMs` ago. */
  async prune(olderThanMs: number): Promise<number> {
    requirePositive('olderThanMs', olderThanMs);
    return this.#repo.prune(this.#clock.now() - olderThanMs);
  }

  /**
   * Moves a running job held by `holder` out of 'running'. Each step is one guarded statement, so a
   * cancel request or a competing enqueue landing in between only makes the next round pick another step.
   */
  async #settle(
    id: number,
    holder: Holder,
    s: Settlement,
  ): Promise<'requeued' | 'failed' | 'cancelled' | 'lost'> {
    for (let round = 0; round < 5; round++) {
      const now = this.#clock.now();
      const cancelled = await this.#repo.finish(id, holder, {
        state: 'cancelled',
        lastError: s.lastError ? `cancelled (${s.lastError})` : 'cancelled',
        now,
        cancelRequested: 1,
      });
      if (cancelled) return 'cancelled';
      if (s.retry) {
        if (await this.#repo.requeue(id, holder, { ...s, now })) return 'requeued';
        // A newer request for the same key is queued: it will do this work, so this row steps aside.
        const note = `superseded by the queued job with the same key${s.lastError ? ` (${s.lastError})` : ''}`;
        if (await this.#repo.supersede(id, holder, note, now)) return 'requeued';
      } else if (
        await this.#repo.finish(id, holder, {
          state: 'failed',
          lastError: s.lastError,
          now,
          cancelRequested: 0,
        })
      ) {
        return 'failed';
      }
      if (!(await this.#repo.isHeld(id, holder))) return 'lost';
    }
    throw new SitecastError('FAILED', `job #${id} kept changing while its attempt was being recorded`, {
      job: id,
    });
  }
}

function requirePositive(field: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0)
    throw new SitecastError('INVALID_PARAMETER', `${field} must be a positive number of ms, got ${value}`, {
      field,
    });
}
