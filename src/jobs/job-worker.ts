import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { SitecastError, type Clock } from '../kernel/index.js';
import { JobDeferred } from './job-deferred.js';
import type { JobQueue } from './job-queue.js';
import { defaultIsRetryable } from './retry-policy.js';
import type { Job } from './types.js';

export interface JobContext {
  /** Aborted when the job is cancelled, its lease is lost, or the worker stops; the reason says which. */
  readonly signal: AbortSignal;
  /** Extends the lease now; throws the abort reason if the job should stop. */
  heartbeat(): Promise<void>;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>;

export interface JobWorkerOptions {
  readonly queue: JobQueue;
  readonly clock: Clock;
  /** Names this worker in leases; default host:pid:random. */
  readonly owner?: string;
  /** One per job kind; the worker claims only kinds it has a handler for. */
  readonly handlers: Readonly<Record<string, JobHandler>>;
  /** Lease length; the worker heartbeats every third of it. Default 60 s. */
  readonly leaseMs?: number;
  /** How often an idle worker looks for due jobs. Default 1 s. */
  readonly pollMs?: number;
  /**
   * How often the worker re-queues jobs whose lease expired. Default a quarter of leaseMs: a job whose
   * worker died runs again at most that long after its lease ends, even when the lease ends just after
   * a restarted server's first reap (with a whole lease here, it could wait almost two leases).
   */
  readonly reapEveryMs?: number;
  /** Handlers running at once in this worker. Default 15 (3 packages × 5 DPs). */
  readonly maxConcurrent?: number;
  readonly isRetryable?: (e: unknown) => boolean;
  readonly log?: (line: string) => void;
}

type StopReason = 'cancelled' | 'lost' | 'stopping';

interface Running {
  readonly job: Job;
  readonly controller: AbortController;
  why: StopReason | null;
  done: Promise<void>;
}

/**
 * Runs claimed jobs through their handlers: heartbeats their leases, aborts them on cancel or lost lease,
 * records the outcome, and reaps expired leases. stop() aborts running handlers, waits for them, and hands
 * their jobs back to the queue without counting the interrupted attempt (a handler that finished anyway
 * completes its job).
 */
export class JobWorker {
  readonly owner: string;
  readonly #queue: JobQueue;
  readonly #clock: Clock;
  readonly #handlers: Readonly<Record<string, JobHandler>>;
  readonly #kinds: readonly string[];
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #reapEveryMs: number;
  readonly #maxConcurrent: number;
  readonly #isRetryable: (e: unknown) => boolean;
  readonly #log: (line: string) => void;
  readonly #active = new Map<number, Running>();
  #stopping: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;

  constructor(options: JobWorkerOptions) {
    this.#queue = options.queue;
    this.#clock = options.clock;
    this.#handlers = options.handlers;
    this.#kinds = Object.keys(options.handlers);
    this.#leaseMs = options.leaseMs ?? 60_000;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#reapEveryMs = options.reapEveryMs ?? this.#leaseMs / 4;
    this.#maxConcurrent = options.maxConcurrent ?? 15;
    this.#isRetryable = options.isRetryable ?? defaultIsRetryable;
    this.#log = options.log ?? (() => undefined);
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    for (const [field, v] of [
      ['leaseMs', this.#leaseMs],
      ['pollMs', this.#pollMs],
      ['reapEveryMs', this.#reapEveryMs],
      ['maxConcurrent', this.#maxConcurrent],
    ] as const) {
      if (!Number.isFinite(v) || v <= 0)
        throw new SitecastError('INVALID_PARAMETER', `job worker ${field} must be positive, got ${v}`, {
          field,
        });
    }
  }

  /** Jobs this worker is running right now. */
  get running(): readonly Job[] {
    return [...this.#active.values()].map((r) => r.job);
  }

  /** Polls, claims and runs jobs in the background until stop(). */
  start(): void {
    if (this.#stopping) return;
    const stopping = new AbortController();
    this.#stopping = stopping;
    this.#loop = this.#run(stopping.signal);
  }

  /** Aborts running handlers, waits for them, and hands their jobs back to the queue. */
  async stop(): Promise<void> {
    this.#stopping?.abort();
    for (const r of this.#active.values()) this.#interrupt(r, 'stopping');
    await this.#loop;
    await Promise.all([...this.#active.values()].map((r) => r.done));
    this.#loop = null;
    this.#stopping = null;
  }

  /**
   * Runs jobs until none of this worker's kinds is due or running anywhere. It does not wait for time to
   * pass (a retry backing off or a job scheduled later ends it), so it works on a FakeClock; jobs held by
   * other workers are waited for by polling every pollMs of real time. Aborting `signal` is stop().
   */
  async runUntilIdle(signal?: AbortSignal): Promise<void> {
    if (this.#stopping)
      throw new SitecastError('INVALID_PARAMETER', `job worker ${this.owner} is already running`, {
        field: 'worker',
      });
    const stopping = new AbortController();
    this.#stopping = stopping;
    const onAbort = (): void => void this.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!stopping.signal.aborted && !signal?.aborted) {
        await this.#reap();
        await this.#fillSlots(stopping.signal);
        if (this.#active.size > 0) {
          // A finished handler frees a slot; the poll notices jobs other workers unblocked.
          await this.#pause(
            stopping.signal,
            [...this.#active.values()].map((r) => r.done),
          );
          continue;
        }
        if ((await this.#queue.pending({ kinds: this.#kinds })) === 0) break;
        await this.#pause(stopping.signal, []);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await Promise.all([...this.#active.values()].map((r) => r.done));
      if (this.#stopping === stopping) this.#stopping = null;
    }
  }

  /** Waits pollMs of real time, or less if one of `events` settles or `signal` aborts. */
  async #pause(signal: AbortSignal, events: readonly Promise<void>[]): Promise<void> {
    const tick = new AbortController();
    const stop = (): void => tick.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.race([
        delay(this.#pollMs, undefined, { signal: tick.signal }).catch(() => undefined),
        ...events,
      ]);
    } finally {
      tick.abort();
      signal.removeEventListener('abort', stop);
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    let nextReap = -Infinity;
    while (!signal.aborted) {
      try {
        if (this.#clock.now() >= nextReap) {
          nextReap = this.#clock.now() + this.#reapEveryMs;
          await this.#reap();
        }
        await this.#fillSlots(signal);
      } catch (e) {
        this.#log(`job worker ${this.owner}: ${errorText(e)}; trying again in ${seconds(this.#pollMs)}`);
      }
      await this.#idle(signal);
    }
  }

  async #reap(): Promise<void> {
    const n = await this.#queue.reapExpired();
    if (n > 0) this.#log(`reaped ${n} job${n === 1 ? '' : 's'} whose lease expired`);
  }

  async #fillSlots(signal: AbortSignal): Promise<void> {
    const free = this.#maxConcurrent - this.#active.size;
    if (free <= 0 || signal.aborted) return;
    const jobs = await this.#queue.claim(this.owner, free, this.#leaseMs, this.#kinds);
    for (const job of jobs) {
      if (signal.aborted) {
        await this.#queue.release(job.id, this.owner);
        continue;
      }
      this.#log(`claimed ${label(job, `attempt ${job.attempts}/${job.maxAttempts}`)}`);
      this.#launch(job);
    }
  }

  /** Sleeps pollMs on the clock, waking early when a handler finishes (a slot opened) or on stop. */
  async #idle(signal: AbortSignal): Promise<void> {
    // stop() during a claim or reap aborted before the listener below exists: do not sleep at all (on a
    // FakeClock that sleep would never end, and stop() with it).
    if (signal.aborted) return;
    const sleep = new AbortController();
    const cancel = (): void => sleep.abort();
    signal.addEventListener('abort', cancel, { once: true });
    this.#wake = cancel;
    try {
      await this.#clock.sleep(this.#pollMs, sleep.signal);
    } catch {
      // woken early
    } finally {
      this.#wake = null;
      signal.removeEventListener('abort', cancel);
    }
  }

  #launch(job: Job): void {
    const entry: Running = { job, controller: new AbortController(), why: null, done: Promise.resolve() };
    this.#active.set(job.id, entry);
    entry.done = this.#execute(entry).finally(() => {
      this.#active.delete(job.id);
      this.#wake?.();
    });
  }

  async #execute(entry: Running): Promise<void> {
    const { job, controller } = entry;
    const beat = async (): Promise<void> => {
      try {
        const r = await this.#queue.heartbeat(job.id, this.owner, this.#leaseMs);
        if (r !== 'ok') this.#interrupt(entry, r);
      } catch (e) {
        // A database hiccup is not a reason to abort work; the next beat may succeed before the lease ends.
        this.#log(`heartbeat for ${label(job)} failed: ${errorText(e)}`);
      }
    };
    const beats = new AbortController();
    const heartbeats = (async () => {
      while (!beats.signal.aborted) {
        try {
          await this.#clock.sleep(this.#leaseMs / 3, beats.signal);
        } catch {
          return;
        }
        await beat();
      }
    })();
    const started = this.#clock.now();
    let ok = false;
    let error: unknown;
    try {
      const handler = this.#handlers[job.kind];
      if (!handler)
        throw new SitecastError('NOT_SUPPORTED', `no handler for job kind '${job.kind}'`, { field: 'kind' });
      await handler(job, {
        signal: controller.signal,
        heartbeat: async () => {
          await beat();
          controller.signal.throwIfAborted();
        },
      });
      ok = true;
    } catch (e) {
      error = e;
    }
    beats.abort();
    await heartbeats;
    try {
      await this.#record(entry, ok, error, this.#clock.now() - started);
    } catch (e) {
      // The lease will expire and the reaper re-runs the job: jobs are idempotent.
      this.#log(`could not record the outcome of ${label(job)}: ${errorText(e)}`);
    }
  }

  async #record(entry: Running, ok: boolean, error: unknown, elapsedMs: number): Promise<void> {
    const { job } = entry;
    const name = label(job);
    if (ok) {
      const r = await this.#queue.complete(job.id, this.owner);
      this.#log(
        r === 'done'
          ? `finished ${name} in ${seconds(elapsedMs)}`
          : `finished ${name}, but its lease had passed to another worker`,
      );
      return;
    }
    if (entry.why === 'lost') {
      this.#log(`abandoned ${name}: its lease passed to another worker`);
      return;
    }
    if (entry.why === 'stopping') {
      const r = await this.#queue.release(job.id, this.owner);
      this.#log(
        r === 'released'
          ? `handed ${name} back to the queue: worker stopping`
          : r === 'cancelled'
            ? `${name} was cancelled`
            : `abandoned ${name}: its lease passed to another worker`,
      );
      return;
    }
    if (error instanceof JobDeferred && entry.why === null) {
      const r = await this.#queue.release(job.id, this.owner, error.until);
      this.#log(
        r === 'released'
          ? `deferred ${name} until ${new Date(error.until).toISOString()}: ${error.reason}`
          : r === 'cancelled'
            ? `${name} was cancelled`
            : `abandoned ${name}: its lease passed to another worker`,
      );
      return;
    }
    const message = errorText(error);
    const retryable = entry.why !== 'cancelled' && this.#isRetryable(error);
    const r = await this.#queue.fail(job.id, this.owner, message, retryable);
    const attempt = `attempt ${job.attempts}/${job.maxAttempts}`;
    if (r === 'retrying') {
      const next = await this.#queue.get(job.id);
      const wait =
        next?.state === 'queued' ? ` in ${seconds(Math.max(0, next.runAt - this.#clock.now()))}` : '';
      this.#log(`${name} failed on ${attempt}: ${message}; retrying${wait}`);
    } else if (r === 'failed') {
      this.#log(`${name} failed for good on ${attempt}${retryable ? '' : ' (not retryable)'}: ${message}`);
    } else if (r === 'cancelled') {
      this.#log(`${name} was cancelled`);
    } else {
      this.#log(`abandoned ${name}: its lease passed to another worker`);
    }
  }

  #interrupt(entry: Running, why: StopReason): void {
    if (entry.controller.signal.aborted) return;
    entry.why = why;
    const name = label(entry.job);
    const message =
      why === 'cancelled'
        ? `${name} was cancelled`
        : why === 'lost'
          ? `${name}: lease lost to another worker`
          : `${name}: worker ${this.owner} is stopping`;
    entry.controller.abort(new SitecastError('CANCELLED', message, { job: entry.job.id, reason: why }));
  }
}

/** "refresh PS100001 (job 12)": the key without its kind prefix reads as the subject. */
function label(job: Job, extra = ''): string {
  const subject = job.key.startsWith(`${job.kind}:`) ? job.key.slice(job.kind.length + 1) : job.key;
  return `${job.kind} ${subject} (job ${job.id}${extra ? `, ${extra}` : ''})`;
}

function errorText(e: unknown): string {
  if (e instanceof SitecastError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
