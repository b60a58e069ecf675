/**
 * A DP's rate limit (Configuration Manager's "rate limits" tab), applied to every transfer the DP takes
 * part in: unlimited; a fixed rate; pulse mode (a block, then a pause); or a share of each hour of the day
 * (a duty cycle: sending p % of the time).
 */
import { SitecastError } from '../kernel/index.js';

export type RateLimit =
  | { readonly mode: 'unlimited' }
  | { readonly mode: 'rate'; readonly bytesPerSecond: number }
  | { readonly mode: 'pulse'; readonly blockBytes: number; readonly delayMs: number }
  /** 24 percentages, hour 0 first, in the DP's local time; 0 closes the hour. */
  | { readonly mode: 'hourly'; readonly percent: readonly number[] };

export const unlimited: RateLimit = { mode: 'unlimited' };

const units: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

function bad(text: string, why: string): SitecastError {
  return new SitecastError(
    'INVALID_PARAMETER',
    `rate limit ${JSON.stringify(text)}: ${why}. Use "unlimited", "<n>MB/s" (also KB, KiB, MiB…), ` +
      '"pulse:<block>/<delay ms>ms" (e.g. pulse:64KiB/500ms) or "hourly:<24 percentages>"',
    { field: 'RateLimit' },
  );
}

function parseBytes(text: string, whole: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)$/i.exec(text.trim());
  if (!m) throw bad(whole, `${JSON.stringify(text)} is not a size such as 4MB or 64KiB`);
  const n = Math.round(Number(m[1]) * units[m[2]!.toLowerCase()]!);
  if (n < 1) throw bad(whole, 'the size must be at least 1 byte');
  return n;
}

/** Parses the CLI/API text form of a rate limit. */
export function parseRateLimit(text: string): RateLimit {
  const t = text.trim();
  if (/^unlimited$/i.test(t)) return unlimited;
  if (/^pulse:/i.test(t)) {
    const m = /^pulse:([^/]+)\/(\d+)\s*ms$/i.exec(t);
    if (!m) throw bad(text, 'pulse mode needs a block size and a delay');
    const delayMs = Number(m[2]);
    if (delayMs < 1 || delayMs > 3_600_000) throw bad(text, 'the delay must be 1 ms to 1 hour');
    return { mode: 'pulse', blockBytes: parseBytes(m[1]!, text), delayMs };
  }
  if (/^hourly:/i.test(t)) {
    const parts = t.slice(t.indexOf(':') + 1).split(',');
    if (parts.length !== 24) throw bad(text, `hourly needs 24 percentages, got ${parts.length}`);
    const percent = parts.map((p, hour) => {
      const n = Number(p.trim());
      if (!/^\d+$/.test(p.trim()) || n > 100)
        throw bad(text, `hour ${hour}: ${JSON.stringify(p)} is not 0–100`);
      return n;
    });
    return { mode: 'hourly', percent };
  }
  const m = /^(.+?)\s*\/\s*s$/i.exec(t);
  if (!m) throw bad(text, 'not a known form');
  return { mode: 'rate', bytesPerSecond: parseBytes(m[1]!, text) };
}

export function formatRateLimit(limit: RateLimit): string {
  switch (limit.mode) {
    case 'unlimited':
      return 'unlimited';
    case 'rate':
      return `${limit.bytesPerSecond}B/s`;
    case 'pulse':
      return `pulse:${limit.blockBytes}B/${limit.delayMs}ms`;
    case 'hourly':
      return `hourly:${limit.percent.join(',')}`;
  }
}
