import { isSitecastError, type ErrorCode } from '../kernel/index.js';
import type { Job } from './types.js';

/** Errors that another attempt cannot fix: bad input, missing objects, policy refusals, cancellation. */
const permanentCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_PARAMETER',
  'NOT_FOUND',
  'UNSAFE_PATH',
  'NO_SOURCE',
  'NOT_SOURCE_SITE',
  'CANCELLED',
  'ACCESS_DENIED',
  'TYPE_MISMATCH',
  // The snapshot already re-read the file several times; the admin refreshes again once the copy is done.
  'SOURCE_CHANGING',
]);

/** Default retry policy: everything is worth another attempt except the permanent SitecastError codes. */
export function defaultIsRetryable(error: unknown): boolean {
  return !(isSitecastError(error) && permanentCodes.has(error.code));
}

/**
 * Whether the queue will retry `job` if its handler throws `error` now, so handlers can record
 * "retrying" or "failed" in their own state tables before throwing.
 */
export function willRetry(
  job: Pick<Job, 'attempts' | 'maxAttempts'>,
  error: unknown,
  isRetryable: (e: unknown) => boolean = defaultIsRetryable,
): boolean {
  return job.attempts < job.maxAttempts && isRetryable(error);
}
