import type { BackoffPolicy } from './types.js';

export const defaultBackoff: BackoffPolicy = { baseMs: 2_000, capMs: 5 * 60_000 };

/** The ceiling before jitter for the retry after `attempt` failed attempts (1-based): base·2^(attempt-1), capped. */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy = defaultBackoff): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 52));
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/**
 * Full jitter (AWS's "Exponential Backoff and Jitter"): a uniform delay in [0, ceiling], so workers that
 * failed together against the same DP do not come back together.
 */
export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy = defaultBackoff,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * (backoffCeilingMs(attempt, policy) + 1));
}
