import { describe, expect, it } from 'vitest';
import { FakeClock } from '../kernel/index.js';
import { Availability, alwaysOpen, withHours } from './availability.js';
import { parseRateLimit, type RateLimit } from './rate-limit.js';
import { TransferPacer, type PacerWait } from './transfer-pacer.js';

const MB = 1000 * 1000;

/** Sends `total` bytes through a pacer on fake time, each send taking `sendMs`; returns when it ended. */
async function simulate(
  limit: RateLimit,
  total: number,
  options: { sendMs?: number; start?: number; availability?: typeof alwaysOpen; priority?: number } = {},
): Promise<{ end: number; start: number; waits: PacerWait[]; batches: number }> {
  const clock = new FakeClock(options.start ?? Date.UTC(2026, 0, 5, 12, 0));
  const waits: PacerWait[] = [];
  const pacer = new TransferPacer({
    clock,
    limit,
    availability: options.availability ?? alwaysOpen,
    priority: options.priority ?? 2,
    timeZone: 'UTC',
    maxBatchBytes: 8 * 1024 * 1024,
    onWait: (w) => waits.push(w),
  });
  const start = clock.now();
  let sent = 0;
  let batches = 0;
  let end = start;
  const run = (async () => {
    while (sent < total) {
      const n = Math.min(pacer.batchBytes(), total - sent);
      const decision = await pacer.beforeSend(n);
      if (!decision.go) {
        // What a transfer job does: hand back, run again when the window opens.
        if (decision.until === null) throw new Error('never opens');
        await clock.sleep(decision.until - clock.now());
        continue;
      }
      if (options.sendMs) await clock.sleep(options.sendMs);
      pacer.afterSend(options.sendMs ?? 0);
      sent += n;
      batches++;
    }
    end = clock.now();
  })();
  // Drive fake time in small steps until the run ends.
  let done = false;
  void run.then(() => (done = true));
  for (let i = 0; i < 10_000_000 && !done; i++) {
    await Promise.resolve();
    await Promise.resolve();
    if (!done) clock.advance(10);
  }
  await run;
  return { end, start, waits, batches };
}

describe('TransferPacer on fake time', () => {
  it('holds a fixed rate: 40 MB at 4 MB/s takes 10 s (one batch of burst at most)', async () => {
    const r = await simulate(parseRateLimit('4MB/s'), 40 * MB);
    const seconds = (r.end - r.start) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(9.7);
    expect(seconds).toBeLessThanOrEqual(10.1);
    expect(r.batches).toBe(40); // quarter-second batches of 1 MB
  });

  it('pulse mode sends a block, then pauses', async () => {
    const r = await simulate(parseRateLimit('pulse:64KiB/500ms'), 640 * 1024, { sendMs: 100 });
    // 10 blocks of 100 ms with 9 pauses of 500 ms between them.
    expect(r.batches).toBe(10);
    expect(r.end - r.start).toBeGreaterThanOrEqual(10 * 100 + 9 * 500);
    expect(r.end - r.start).toBeLessThanOrEqual(10 * 100 + 10 * 500 + 20);
  });

  it('hourly percentages make a duty cycle, and a 0 % hour waits for the next one', async () => {
    const quarter = new Array<number>(24).fill(100);
    quarter[12] = 25;
    const r = await simulate({ mode: 'hourly', percent: quarter }, 10 * 8 * 1024 * 1024, { sendMs: 1000 });
    // 10 batches of 1 s, each followed by 3 s of silence (sending 25 % of the time).
    expect(r.end - r.start).toBeGreaterThanOrEqual(10 * 1000 + 9 * 3000);
    expect(r.end - r.start).toBeLessThanOrEqual(10 * 1000 + 10 * 3000 + 20);
    const closedNoon = new Array<number>(24).fill(100);
    closedNoon[12] = 0;
    const c = await simulate({ mode: 'hourly', percent: closedNoon }, MB, {
      start: Date.UTC(2026, 0, 5, 12, 20),
    });
    expect(c.end).toBe(Date.UTC(2026, 0, 5, 13, 0));
  });

  it('waits for the availability window and says until when', async () => {
    // Monday 2026-01-05 12:00 UTC; normal priority closed 08:00–18:00 on weekdays.
    const office = withHours(alwaysOpen, [1, 2, 3, 4, 5], 8, 18, Availability.HighOnly);
    const r = await simulate({ mode: 'unlimited' }, MB, { availability: office });
    expect(r.end).toBe(Date.UTC(2026, 0, 5, 18, 0));
    expect(r.waits[0]).toEqual({ reason: 'window', until: Date.UTC(2026, 0, 5, 18, 0) });
    const high = await simulate({ mode: 'unlimited' }, MB, { availability: office, priority: 1 });
    expect(high.end).toBe(high.start);
  });
});

describe('rate limit text', () => {
  it('parses each form and rejects bad ones naming the problem', () => {
    expect(parseRateLimit('unlimited')).toEqual({ mode: 'unlimited' });
    expect(parseRateLimit('4MB/s')).toEqual({ mode: 'rate', bytesPerSecond: 4 * MB });
    expect(parseRateLimit('512 KiB/s')).toEqual({ mode: 'rate', bytesPerSecond: 512 * 1024 });
    expect(parseRateLimit('pulse:64KiB/500ms')).toEqual({ mode: 'pulse', blockBytes: 65536, delayMs: 500 });
    expect(() => parseRateLimit('4 parsecs/s')).toThrow(/"4 parsecs" is not a size/);
    expect(() => parseRateLimit('hourly:1,2')).toThrow(/24 percentages, got 2/);
    expect(() => parseRateLimit(`hourly:${new Array(23).fill(50).join(',')},101`)).toThrow(/hour 23: "101"/);
    expect(() => parseRateLimit('fast')).toThrow(/not a known form/);
  });
});
