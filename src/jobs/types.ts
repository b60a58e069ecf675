/** The public shapes of the durable job queue. */

export const JobStates = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JobStates)[number];

export interface EnqueueRequest {
  /** What the job does, e.g. 'refresh', 'transfer', 'verify', 'remove', 'gc'; picks the handler. */
  readonly kind: string;
  /** Coalescing key, e.g. 'refresh:PS100001', 'transfer:PS100001:3'. */
  readonly key: string;
  /** The package the job works on; subjects the job to the per-package concurrency limits. */
  readonly packageId?: string | null;
  /** JSON-serialisable. */
  readonly payload?: unknown;
  /** Package Priority: 1 high, 2 normal (default), 3 low. */
  readonly priority?: number;
  /** Epoch ms; default now. */
  readonly runAt?: number;
  /** Default 5. */
  readonly maxAttempts?: number;
}

export interface Job {
  readonly id: number;
  readonly kind: string;
  readonly key: string;
  readonly packageId: string | null;
  readonly payload: unknown;
  readonly priority: number;
  readonly state: JobState;
  /** Claims so far (the running attempt included). */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAt: number;
  readonly lastError: string | null;
  readonly leaseOwner: string | null;
  readonly leaseExpires: number | null;
  /** A running job was cancelled and its handler has not stopped yet. */
  readonly cancelRequested: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface JobFilter {
  readonly state?: JobState;
  readonly kind?: string;
  /** Any of these kinds (what a worker has handlers for). */
  readonly kinds?: readonly string[];
  readonly packageId?: string;
  readonly key?: string;
  readonly keyPrefix?: string;
}

/** How many jobs may run at once; jobs without a package are not limited by these. */
export interface ConcurrencyLimits {
  /** Distinct packages with running jobs (Configuration Manager: 3). */
  readonly packages: number;
  /** Running jobs of one package, i.e. DPs served at once per package (Configuration Manager: 5). */
  readonly perPackage: number;
}

export interface BackoffPolicy {
  /** Backoff ceiling after the first failed attempt; doubles with each attempt. */
  readonly baseMs: number;
  readonly capMs: number;
}

export type HeartbeatResult = 'ok' | 'lost' | 'cancelled';
/** 'lost': the caller no longer holds the lease (it expired and was reaped or taken over). */
export type CompleteResult = 'done' | 'lost';
export type FailResult = 'retrying' | 'failed' | 'cancelled' | 'lost';
export type ReleaseResult = 'released' | 'cancelled' | 'lost';
