/**
 * Paces one transfer to a DP's rate limit and availability window. The sender asks `batchBytes()` how
 * much to send at once, calls `beforeSend(bytes)` (which waits as the limit or the window requires) and
 * `afterSend(ms)` once they went out.
 */
import type { Clock } from '../kernel/index.js';
import { localDayHour, nextOpening, type AvailabilityMatrix } from './availability.js';
import type { RateLimit } from './rate-limit.js';

/** Why a sender is waiting, for status: "closed window until 18:00", "rate limit". */
export interface PacerWait {
  readonly reason: 'window' | 'rate';
  /** When sending resumes (epoch ms), null when the window never opens for this priority. */
  readonly until: number | null;
}

export type PacerDecision = { readonly go: true } | { readonly go: false; readonly until: number | null };

export interface TransferPacerOptions {
  readonly clock: Clock;
  readonly limit: RateLimit;
  readonly availability: AvailabilityMatrix;
  /** Package Priority: 1 high, 2 normal, 3 low. */
  readonly priority: number;
  readonly timeZone: string;
  /** Upper bound of a batch (the transfer's own default). */
  readonly maxBatchBytes: number;
  /** Told before each wait longer than a moment, so status can say why the DP is not moving. */
  readonly onWait?: (wait: PacerWait) => void;
}

/** Waits shorter than this are pacing, not worth a status line. */
const QUIET_WAIT_MS = 2000;
const QUARTER_HOUR_MS = 15 * 60 * 1000;

export class TransferPacer {
  readonly #o: TransferPacerOptions;
  /** Token bucket of the 'rate' mode: may go negative by one batch (debt), repaid by waiting. */
  #tokens = 0;
  #lastRefill: number;
  #pauseUntil = 0;

  constructor(options: TransferPacerOptions) {
    this.#o = options;
    this.#lastRefill = options.clock.now();
  }

  /** No rate limit, pulses or hourly share: the sender may keep several batches on their way. */
  get unpaced(): boolean {
    return this.#o.limit.mode === 'unlimited';
  }

  /** How many bytes to send in one go (the sender rounds to whole chunks, at least one). */
  batchBytes(): number {
    const { limit, maxBatchBytes } = this.#o;
    switch (limit.mode) {
      case 'rate':
        // About a quarter second of sending per batch keeps the rate smooth.
        return Math.max(1, Math.min(maxBatchBytes, Math.floor(limit.bytesPerSecond / 4)));
      case 'pulse':
        return Math.max(1, Math.min(maxBatchBytes, limit.blockBytes));
      default:
        return maxBatchBytes;
    }
  }

  /**
   * Waits until `bytes` may go under the rate limit and returns `{ go: true }`, or — when the availability
   * window is closed for this priority — returns at once with when it opens (null: never), so the caller
   * can give its job back to the queue instead of holding it for hours. Rejects when `signal` aborts.
   */
  async beforeSend(bytes: number, signal?: AbortSignal): Promise<PacerDecision> {
    const { clock } = this.#o;
    for (;;) {
      const now = clock.now();
      const open = nextOpening(this.#o.availability, this.#o.priority, now, this.#o.timeZone);
      if (open !== now) {
        this.#o.onWait?.({ reason: 'window', until: open });
        return { go: false, until: open };
      }
      const hold = this.#holdMs(now);
      if (hold > 0) {
        if (hold >= QUIET_WAIT_MS) this.#o.onWait?.({ reason: 'rate', until: now + hold });
        await clock.sleep(hold, signal);
        continue;
      }
      if (this.#o.limit.mode === 'rate') this.#tokens -= bytes;
      return { go: true };
    }
  }

  /** Records that a batch went out, taking `elapsedMs` (wall time of the send itself). */
  afterSend(elapsedMs: number): void {
    const { limit, clock } = this.#o;
    const now = clock.now();
    if (limit.mode === 'pulse') this.#pauseUntil = now + limit.delayMs;
    if (limit.mode === 'hourly') {
      const p = limit.percent[localHour(now, this.#o.timeZone)] ?? 100;
      // Sending p % of the time: after t ms of sending, t × (100 − p) / p ms of silence.
      if (p > 0 && p < 100) this.#pauseUntil = now + Math.ceil((elapsedMs * (100 - p)) / p);
    }
  }

  /** Ms to hold before the next send under the rate limit at `now` (0: go). */
  #holdMs(now: number): number {
    const { limit } = this.#o;
    switch (limit.mode) {
      case 'rate': {
        const rate = limit.bytesPerSecond;
        // A full bucket holds one batch: an idle sender may not burst more than that.
        this.#tokens = Math.min(this.batchBytes(), this.#tokens + ((now - this.#lastRefill) * rate) / 1000);
        this.#lastRefill = now;
        return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / rate);
      }
      case 'hourly': {
        if ((limit.percent[localHour(now, this.#o.timeZone)] ?? 100) === 0) {
          // A 0 % hour is closed: look again at the next quarter hour (local hours start on one).
          return QUARTER_HOUR_MS - (now % QUARTER_HOUR_MS);
        }
        return Math.max(0, this.#pauseUntil - now);
      }
      case 'pulse':
        return Math.max(0, this.#pauseUntil - now);
      default:
        return 0;
    }
  }
}

function localHour(ms: number, timeZone: string): number {
  return localDayHour(ms, timeZone).hour;
}
