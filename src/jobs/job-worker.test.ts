import { beforeEach, expect, it, vi } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { FakeClock, SitecastError, systemClock, type Clock } from '../kernel/index.js';
import { JobDeferred } from './job-deferred.js';
import { JobQueue } from './job-queue.js';
import { JobWorker, type JobHandler } from './job-worker.js';
import { willRetry } from './retry-policy.js';

const leaseMs = 30_000;

/** A handler that signals it started, then waits for its abort and throws the reason. */
function blockingHandler(): { handler: JobHandler; started: Promise<void>; reasons: unknown[] } {
  const reasons: unknown[] = [];
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((r) => (markStarted = r));
  const handler: JobHandler = async (_job, { signal }) => {
    markStarted();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    reasons.push(signal.reason);
    throw signal.reason;
  };
  return { handler, started, reasons };
}

forEachDialect('job worker', (ctx) => {
  let clock: FakeClock;
  let queue: JobQueue;
  let lines: string[];

  beforeEach(async () => {
    await ctx.database.db.deleteFrom('job').execute();
    clock = new FakeClock();
    queue = newQueue(clock);
    lines = [];
  });

  function newQueue(c: Clock): JobQueue {
    // Jitter pinned to the top of its range: a first retry waits exactly 2 s.
    return new JobQueue(ctx.database.db, ctx.database.capabilities, c, { random: () => 0.999_999_999 });
  }

  function worker(handlers: Record<string, JobHandler>, extra: { owner?: string; q?: JobQueue } = {}) {
    return new JobWorker({
      queue: extra.q ?? queue,
      clock,
      handlers,
      leaseMs,
      pollMs: 5,
      owner: extra.owner ?? 'w1',
      log: (l) => lines.push(l),
    });
  }

  it('hands a deferred job back without counting the attempt, runs it at its time, and expedite() brings it forward', async () => {
    let calls = 0;
    const until = clock.now() + 3_600_000;
    const r = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:1' });
    const handlers: Record<string, JobHandler> = {
      transfer: () => {
        calls++;
        return calls === 1 ? Promise.reject(new JobDeferred(until, 'window closed')) : Promise.resolve();
      },
    };
    await worker(handlers).runUntilIdle();
    expect(calls).toBe(1);
    expect(await queue.get(r.id)).toMatchObject({ state: 'queued', attempts: 0, runAt: until });
    expect(lines.some((l) => l.includes('deferred') && l.includes('window closed'))).toBe(true);
    expect(await queue.expedite({ keyPrefix: 'transfer:PS100001:' })).toBe(1);
    await worker(handlers).runUntilIdle();
    expect(calls).toBe(2);
    expect(await queue.get(r.id)).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('runs due jobs to done and says so in lines a person can follow', async () => {
    const seen: unknown[] = [];
    const r = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001', payload: { force: true } });
    await queue.enqueue({ kind: 'gc', key: 'gc:site' });
    await worker({ refresh: (job) => Promise.resolve(void seen.push(job.payload)) }).runUntilIdle();
    expect(seen).toEqual([{ force: true }]);
    expect(await queue.get(r.id)).toMatchObject({ state: 'done', attempts: 1 });
    // No gc handler here: the gc job is left for a worker that has one.
    expect(await queue.list({ kind: 'gc' })).toMatchObject([{ state: 'queued', attempts: 0 }]);
    expect(lines).toEqual([
      `claimed refresh PS100001 (job ${r.id}, attempt 1/5)`,
      `finished refresh PS100001 (job ${r.id}) in 0.0 s`,
    ]);
  });

  it('retries a transient failure after its backoff, then succeeds', async () => {
    let calls = 0;
    const { id } = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:1' });
    const w = worker({
      transfer: () => {
        calls++;
        if (calls === 1) throw new SitecastError('DP_UNAVAILABLE', 'dp1 unreachable');
        return Promise.resolve();
      },
    });
    await w.runUntilIdle();
    expect(await queue.get(id)).toMatchObject({ state: 'queued', attempts: 1 });
    expect(lines).toContain(
      `transfer PS100001:1 (job ${id}) failed on attempt 1/5: DP_UNAVAILABLE: dp1 unreachable; retrying in 2.0 s`,
    );
    clock.advance(2_000);
    await w.runUntilIdle();
    expect(await queue.get(id)).toMatchObject({ state: 'done', attempts: 2, lastError: null });
    expect(calls).toBe(2);
  });

  it('fails for good after maxAttempts, and willRetry tells the handler beforehand', async () => {
    const verdicts: boolean[] = [];
    const { id } = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:1', maxAttempts: 3 });
    const permanent = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100009' });
    const w = worker({
      transfer: (job) => {
        const e = new SitecastError('DP_UNAVAILABLE', 'dp1 unreachable');
        verdicts.push(willRetry(job, e));
        throw e;
      },
      refresh: () => Promise.reject(new SitecastError('NOT_FOUND', 'package PS100009 not found')),
    });
    for (let round = 0; round < 5 && (await queue.list({ state: 'queued' })).length > 0; round++) {
      await w.runUntilIdle();
      clock.advance(300_000);
    }
    expect(verdicts).toEqual([true, true, false]);
    expect(await queue.get(id)).toMatchObject({ state: 'failed', attempts: 3 });
    expect(await queue.get(permanent.id)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(lines).toContain(
      `refresh PS100009 (job ${permanent.id}) failed for good on attempt 1/5 (not retryable): NOT_FOUND: package PS100009 not found`,
    );
    expect(lines.filter((l) => l.includes('failed for good'))).toHaveLength(2);
  });

  it('keeps the lease alive while a handler runs, and a cancel aborts the handler', async () => {
    const { handler, started, reasons } = blockingHandler();
    const { id } = await queue.enqueue({ kind: 'verify', key: 'verify:PS100001:2' });
    const run = worker({ verify: handler }).runUntilIdle();
    await started;
    const first = (await queue.get(id))!.leaseExpires!;
    clock.advance(leaseMs / 3);
    await vi.waitFor(async () => expect((await queue.get(id))?.leaseExpires).toBe(first + leaseMs / 3));
    expect(await queue.cancel({ keyPrefix: 'verify:PS100001:' })).toBe(1);
    clock.advance(leaseMs / 3); // the next heartbeat brings the news
    await run;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({ code: 'CANCELLED', details: { reason: 'cancelled' } });
    expect(await queue.get(id)).toMatchObject({ state: 'cancelled', attempts: 1 });
    expect(lines).toContain(`verify PS100001:2 (job ${id}) was cancelled`);
  });

  it('a worker whose expired lease was taken over aborts its handler and leaves the job alone', async () => {
    const { handler, started, reasons } = blockingHandler();
    const { id } = await queue.enqueue({ kind: 'verify', key: 'verify:PS100001:2' });
    const runA = worker({ verify: handler }, { owner: 'a' }).runUntilIdle();
    await started;
    // Another process whose clock is past A's lease (A stalled, say) reaps the job and claims it.
    const other = newQueue(new FakeClock(clock.now() + 2 * leaseMs));
    expect(await other.reapExpired()).toBe(1);
    expect(await other.claim('b', 1, leaseMs)).toMatchObject([{ id, attempts: 2, leaseOwner: 'b' }]);
    clock.advance(leaseMs / 3);
    await vi.waitFor(() =>
      expect(lines).toContain(`abandoned verify PS100001:2 (job ${id}): its lease passed to another worker`),
    );
    expect(reasons[0]).toMatchObject({ code: 'CANCELLED', details: { reason: 'lost' } });
    expect(await queue.get(id)).toMatchObject({ state: 'running', leaseOwner: 'b' });
    expect(await other.complete(id, 'b')).toBe('done');
    await runA;
    expect(await queue.get(id)).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('stop() hands running jobs back; a new worker finishes them without counting the lost attempt', async () => {
    const { handler, started } = blockingHandler();
    const { id } = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001' });
    const first = worker({ refresh: handler }, { owner: 'first' });
    first.start();
    await started;
    expect(first.running.map((j) => j.id)).toEqual([id]);
    await first.stop();
    expect(first.running).toEqual([]);
    expect(await queue.get(id)).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null });
    expect(lines).toContain(`handed refresh PS100001 (job ${id}) back to the queue: worker stopping`);
    let finished = 0;
    await worker({ refresh: () => Promise.resolve(void finished++) }, { owner: 'second' }).runUntilIdle();
    expect(finished).toBe(1);
    expect(await queue.get(id)).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('a job whose worker died is finished by another worker once the lease expires', async () => {
    const { id } = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001' });
    await queue.claim('crashed', 1, leaseMs);
    clock.advance(leaseMs);
    let finished = 0;
    await worker({ refresh: () => Promise.resolve(void finished++) }).runUntilIdle();
    expect(finished).toBe(1);
    expect(await queue.get(id)).toMatchObject({ state: 'done', attempts: 2 });
    expect(lines[0]).toBe('reaped 1 job whose lease expired');
  });

  it('a restarted worker re-runs a job whose lease expires after its first reap within a quarter lease', async () => {
    const { id } = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001' });
    await queue.claim('crashed', 1, leaseMs);
    const expires = clock.now() + leaseMs;
    // The server restarts while the dead worker's lease still runs: its first reap finds nothing.
    clock.advance(leaseMs / 2);
    let finished = 0;
    const w = worker({ refresh: () => Promise.resolve(void finished++) });
    w.start();
    try {
      // Fake time creeps on only while the job has not run again.
      await vi.waitFor(
        () => {
          if (finished === 0) clock.advance(250);
          expect(finished).toBe(1);
        },
        { timeout: 20_000, interval: 5 },
      );
    } finally {
      await w.stop();
    }
    expect(clock.now() - expires).toBeLessThan(leaseMs / 2);
    expect(await queue.get(id)).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('stop() landing during a claim returns without waiting for the clock', async () => {
    let claimed: () => void = () => undefined;
    const inClaim = new Promise<void>((r) => (claimed = r));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const claim = queue.claim.bind(queue);
    vi.spyOn(queue, 'claim').mockImplementation(async (...args) => {
      claimed();
      await gate;
      return claim(...args);
    });
    const w = worker({ refresh: () => Promise.resolve() });
    w.start();
    await inClaim;
    const stopping = w.stop();
    release();
    // The fake clock never moves here: a worker that went to sleep after this claim would never stop.
    await expect(
      Promise.race([stopping.then(() => 'stopped'), new Promise((r) => setTimeout(r, 2000, 'hung'))]),
    ).resolves.toBe('stopped');
  });

  it('runs at most 3 packages × 5 jobs at once', async () => {
    const inFlight = new Map<string, number>();
    let peakPackages = 0;
    let peakPerPackage = 0;
    for (let p = 1; p <= 5; p++)
      for (let dp = 1; dp <= 8; dp++)
        await queue.enqueue({
          kind: 'transfer',
          key: `transfer:PS10000${p}:${dp}`,
          packageId: `PS10000${p}`,
        });
    const w = new JobWorker({
      queue,
      clock,
      handlers: {
        transfer: async (job) => {
          const pkg = job.packageId!;
          inFlight.set(pkg, (inFlight.get(pkg) ?? 0) + 1);
          peakPackages = Math.max(peakPackages, inFlight.size);
          peakPerPackage = Math.max(peakPerPackage, inFlight.get(pkg)!);
          await new Promise((r) => setTimeout(r, 3));
          const left = inFlight.get(pkg)! - 1;
          if (left === 0) inFlight.delete(pkg);
          else inFlight.set(pkg, left);
        },
      },
      maxConcurrent: 40,
      pollMs: 5,
    });
    await w.runUntilIdle();
    expect({ peakPackages, peakPerPackage }).toEqual({ peakPackages: 3, peakPerPackage: 5 });
    expect(await queue.list({ state: 'done' })).toHaveLength(40);
  });

  it('start() keeps polling on the real clock and picks up jobs enqueued later', async () => {
    const live = newQueue(systemClock);
    const w = new JobWorker({
      queue: live,
      clock: systemClock,
      handlers: { gc: () => Promise.resolve() },
      leaseMs,
      pollMs: 10,
    });
    w.start();
    try {
      await new Promise((r) => setTimeout(r, 30));
      const { id } = await live.enqueue({ kind: 'gc', key: 'gc:site' });
      await vi.waitFor(async () => expect((await live.get(id))?.state).toBe('done'), { timeout: 2_000 });
    } finally {
      await w.stop();
    }
  });
});
