import { describe, expect, it } from 'vitest';
import { SitecastError } from '../kernel/index.js';
import { backoffCeilingMs, backoffDelayMs } from './backoff.js';
import { defaultIsRetryable, willRetry } from './retry-policy.js';

describe('backoff', () => {
  it('doubles from 2 s per attempt and stops at 5 min', () => {
    expect([1, 2, 3, 4, 8, 9, 50, 10_000].map((a) => backoffCeilingMs(a))).toEqual([
      2_000, 4_000, 8_000, 16_000, 256_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('draws each delay uniformly from [0, ceiling] (full jitter)', () => {
    for (const attempt of [1, 3, 12]) {
      const ceiling = backoffCeilingMs(attempt);
      const delays = Array.from({ length: 2_000 }, () => backoffDelayMs(attempt));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
      // Spread over the whole range, not bunched at the ceiling as plain exponential backoff would be.
      expect(Math.min(...delays)).toBeLessThan(ceiling * 0.1);
      expect(Math.max(...delays)).toBeGreaterThan(ceiling * 0.9);
      expect(delays.every(Number.isInteger)).toBe(true);
    }
    expect(backoffDelayMs(3, undefined, () => 0)).toBe(0);
    expect(backoffDelayMs(3, undefined, () => 0.999_999_999)).toBe(8_000);
    expect(backoffDelayMs(2, { baseMs: 100, capMs: 150 }, () => 0.999_999_999)).toBe(150);
  });
});

describe('retry policy', () => {
  it('retries transient failures and not the permanent ones', () => {
    expect(defaultIsRetryable(new Error('socket hang up'))).toBe(true);
    expect(defaultIsRetryable(new SitecastError('DP_UNAVAILABLE', 'dp1 unreachable'))).toBe(true);
    expect(defaultIsRetryable(new SitecastError('HASH_MISMATCH', 'chunk ab12 corrupt'))).toBe(true);
    for (const code of ['INVALID_PARAMETER', 'NOT_FOUND', 'UNSAFE_PATH', 'NO_SOURCE', 'CANCELLED'] as const)
      expect(defaultIsRetryable(new SitecastError(code, 'x'))).toBe(false);
  });

  it('willRetry says whether attempts remain for a retryable error', () => {
    const transient = new SitecastError('DP_UNAVAILABLE', 'dp1 unreachable');
    expect(willRetry({ attempts: 4, maxAttempts: 5 }, transient)).toBe(true);
    expect(willRetry({ attempts: 5, maxAttempts: 5 }, transient)).toBe(false);
    expect(willRetry({ attempts: 1, maxAttempts: 5 }, new SitecastError('NOT_FOUND', 'x'))).toBe(false);
    expect(willRetry({ attempts: 1, maxAttempts: 5 }, transient, () => false)).toBe(false);
  });
});
