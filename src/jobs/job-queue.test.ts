import { beforeEach, expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { FakeClock, SitecastError } from '../kernel/index.js';
import { JobQueue } from './job-queue.js';

forEachDialect('job queue', (ctx) => {
  let clock: FakeClock;
  let queue: JobQueue;
  // Jitter pinned to its maximum, so a retry lands exactly at the backoff ceiling.
  const random = (): number => 0.999_999_999;

  beforeEach(async () => {
    await ctx.database.db.deleteFrom('job').execute();
    clock = new FakeClock();
    queue = new JobQueue(ctx.database.db, ctx.database.capabilities, clock, { random });
  });

  it('coalesces a request for a queued key: earlier runAt, higher priority, newer payload', async () => {
    const t = clock.now();
    const first = await queue.enqueue({
      kind: 'refresh',
      key: 'refresh:PS100001',
      packageId: 'PS100001',
      payload: { force: false },
      priority: 3,
      runAt: t + 5_000,
    });
    const second = await queue.enqueue({
      kind: 'refresh',
      key: 'refresh:PS100001',
      payload: { force: true },
      priority: 1,
      runAt: t + 10_000,
    });
    expect(first.coalesced).toBe(false);
    expect(second).toEqual({ id: first.id, coalesced: true });
    const jobs = await queue.list({ keyPrefix: 'refresh:' });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      state: 'queued',
      priority: 1,
      runAt: t + 5_000,
      payload: { force: true },
      packageId: 'PS100001',
      attempts: 0,
      maxAttempts: 5,
    });
  });

  it('enqueues inside the caller transaction and rolls back with it', async () => {
    const { db } = ctx.database;
    await expect(
      db.transaction().execute(async (trx) => {
        await queue.enqueue({ kind: 'gc', key: 'gc:site' }, trx);
        throw new Error('caller changed its mind');
      }),
    ).rejects.toThrow('caller changed its mind');
    expect(await queue.list()).toEqual([]);
    await db.transaction().execute(async (trx) => {
      await queue.enqueue({ kind: 'gc', key: 'gc:site' }, trx);
      await queue.enqueue({ kind: 'gc', key: 'gc:site', payload: 2 }, trx);
    });
    expect((await queue.list()).map((j) => j.payload)).toEqual([2]);
  });

  it('rejects bad requests naming the field', async () => {
    const cases = [
      [{ kind: 'refresh', key: 'refresh:X', priority: 7 }, 'priority'],
      [{ kind: 'refresh', key: '' }, 'key'],
      [{ kind: ' ', key: 'k' }, 'kind'],
      [{ kind: 'refresh', key: 'k', maxAttempts: 0 }, 'maxAttempts'],
      [{ kind: 'refresh', key: 'k', payload: { size: 1n } }, 'payload'],
    ] as const;
    for (const [req, field] of cases) {
      const err = await queue.enqueue(req).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SitecastError);
      expect(err).toMatchObject({ code: 'INVALID_PARAMETER', details: { field } });
      expect((err as Error).message).toContain(field);
    }
    expect(await queue.list()).toEqual([]);
  });

  it('claims by priority, then run time, then id, and only jobs that are due', async () => {
    const t = clock.now();
    const a = await queue.enqueue({ kind: 'verify', key: 'a', priority: 2 });
    const b = await queue.enqueue({ kind: 'verify', key: 'b', priority: 1 });
    const c = await queue.enqueue({ kind: 'verify', key: 'c', priority: 2, runAt: t - 1_000 });
    const d = await queue.enqueue({ kind: 'verify', key: 'd', priority: 1, runAt: t + 60_000 });
    const e = await queue.enqueue({ kind: 'verify', key: 'e', priority: 3 });
    expect((await queue.claim('w1', 3, 30_000)).map((j) => j.id)).toEqual([b.id, c.id, a.id]);
    expect((await queue.claim('w1', 10, 30_000)).map((j) => j.id)).toEqual([e.id]);
    expect(await queue.claim('w1', 10, 30_000)).toEqual([]);
    clock.advance(60_000);
    const [late] = await queue.claim('w1', 10, 30_000);
    expect(late).toMatchObject({ id: d.id, state: 'running', attempts: 1, leaseOwner: 'w1' });
    expect(late?.leaseExpires).toBe(clock.now() + 30_000);
  });

  it('claims only the kinds asked for', async () => {
    await queue.enqueue({ kind: 'gc', key: 'gc:site' });
    const r = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001' });
    expect((await queue.claim('w1', 5, 30_000, ['refresh', 'transfer'])).map((j) => j.id)).toEqual([r.id]);
    expect(await queue.claim('w1', 5, 30_000, [])).toEqual([]);
  });

  it('never runs two jobs with the same key at once', async () => {
    const first = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:3', payload: { v: 1 } });
    expect((await queue.claim('w1', 5, 30_000)).map((j) => j.id)).toEqual([first.id]);
    // A new request while the first runs is a new row (only queued jobs coalesce) that must wait.
    const second = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:3', payload: { v: 2 } });
    expect(second.coalesced).toBe(false);
    expect(await queue.claim('w2', 5, 30_000)).toEqual([]);
    expect(await queue.complete(first.id, 'w1')).toBe('done');
    const [next] = await queue.claim('w2', 5, 30_000);
    expect(next).toMatchObject({ id: second.id, payload: { v: 2 } });
  });

  it('heartbeats keep a lease; an expired one is reaped and the next claim is attempt 2', async () => {
    const { id } = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001' });
    await queue.claim('w1', 1, 30_000);
    clock.advance(20_000);
    expect(await queue.heartbeat(id, 'w1', 30_000)).toBe('ok');
    clock.advance(20_000);
    expect(await queue.reapExpired()).toBe(0);
    clock.advance(10_000);
    expect(await queue.reapExpired()).toBe(1);
    expect(await queue.get(id)).toMatchObject({ state: 'queued', leaseOwner: null, attempts: 1 });
    expect((await queue.get(id))?.lastError).toContain('lease of w1 expired');
    expect(await queue.heartbeat(id, 'w1', 30_000)).toBe('lost');
    const [again] = await queue.claim('w2', 1, 30_000);
    expect(again).toMatchObject({ id, attempts: 2, leaseOwner: 'w2' });
    expect(await queue.complete(id, 'w1')).toBe('lost');
    expect(await queue.complete(id, 'w2')).toBe('done');
    expect((await queue.get(id))?.state).toBe('done');
  });

  it('reaping an expired last attempt marks the job failed', async () => {
    const { id } = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001', maxAttempts: 1 });
    await queue.claim('w1', 1, 30_000);
    clock.advance(30_000);
    expect(await queue.reapExpired()).toBe(1);
    expect(await queue.get(id)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(await queue.claim('w2', 1, 30_000)).toEqual([]);
  });

  it('retries with doubling backoff, then fails after maxAttempts', async () => {
    const { id } = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:1', maxAttempts: 3 });
    const ceilings = [2_000, 4_000];
    for (const ceiling of ceilings) {
      await queue.claim('w1', 1, 30_000);
      expect(await queue.fail(id, 'w1', 'DP_UNAVAILABLE: dp1 unreachable', true)).toBe('retrying');
      const job = await queue.get(id);
      expect(job).toMatchObject({ state: 'queued', lastError: 'DP_UNAVAILABLE: dp1 unreachable' });
      expect(job!.runAt - clock.now()).toBe(ceiling);
      clock.advance(ceiling - 1);
      expect(await queue.claim('w1', 1, 30_000)).toEqual([]);
      clock.advance(1);
    }
    await queue.claim('w1', 1, 30_000);
    expect(await queue.fail(id, 'w1', 'DP_UNAVAILABLE: dp1 unreachable', true)).toBe('failed');
    expect(await queue.get(id)).toMatchObject({ state: 'failed', attempts: 3 });
  });

  it('a non-retryable failure fails at once; a stranger cannot fail the job', async () => {
    const { id } = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001' });
    await queue.claim('w1', 1, 30_000);
    expect(await queue.fail(id, 'w2', 'nope', true)).toBe('lost');
    expect(await queue.fail(id, 'w1', 'NO_SOURCE: package has no source', false)).toBe('failed');
    expect(await queue.get(id)).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('cancel ends queued jobs at once and flags running ones, which keep their key until they stop', async () => {
    const running = await queue.enqueue({ kind: 'verify', key: 'verify:PS100001:1' });
    await queue.claim('w1', 1, 30_000);
    const queued = await queue.enqueue({ kind: 'verify', key: 'verify:PS100001:2' });
    const other = await queue.enqueue({ kind: 'verify', key: 'verify:PS1000010:1' });
    expect(await queue.cancel({ keyPrefix: 'verify:PS100001:' })).toBe(2);
    expect(await queue.get(queued.id)).toMatchObject({ state: 'cancelled' });
    expect(await queue.get(running.id)).toMatchObject({ state: 'running', cancelRequested: true });
    expect(await queue.get(other.id)).toMatchObject({ state: 'queued' });
    // The cancelled job still holds its key: a fresh request waits for its handler to stop.
    const fresh = await queue.enqueue({ kind: 'verify', key: 'verify:PS100001:1' });
    expect((await queue.claim('w2', 5, 30_000)).map((j) => j.id)).toEqual([other.id]);
    expect(await queue.heartbeat(running.id, 'w1', 30_000)).toBe('cancelled');
    expect(await queue.fail(running.id, 'w1', 'CANCELLED: verify aborted', false)).toBe('cancelled');
    expect(await queue.get(running.id)).toMatchObject({ state: 'cancelled', cancelRequested: true });
    expect((await queue.claim('w2', 5, 30_000)).map((j) => j.id)).toEqual([fresh.id]);
  });

  it('cancel matches prefixes literally and needs a key or prefix', async () => {
    await queue.enqueue({ kind: 'gc', key: 'gc:abc' });
    expect(await queue.cancel({ keyPrefix: 'gc:%' })).toBe(0);
    expect(await queue.cancel({ keyPrefix: 'GC:' })).toBe(0);
    expect(await queue.cancel({ key: 'gc:ab' })).toBe(0);
    await expect(queue.cancel({})).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await queue.cancel({ key: 'gc:abc' })).toBe(1);
  });

  it('a retry that finds a newer request for its key queued steps aside for it', async () => {
    const old = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:2', payload: { v: 5 } });
    await queue.claim('w1', 1, 30_000);
    const newer = await queue.enqueue({ kind: 'transfer', key: 'transfer:PS100001:2', payload: { v: 6 } });
    expect(await queue.fail(old.id, 'w1', 'DP_UNAVAILABLE: dp2 unreachable', true)).toBe('retrying');
    const oldJob = await queue.get(old.id);
    expect(oldJob?.state).toBe('cancelled');
    expect(oldJob?.lastError).toContain('superseded');
    expect(await queue.claim('w1', 1, 30_000)).toMatchObject([{ id: newer.id, payload: { v: 6 } }]);
  });

  it('release hands a job back without counting the attempt', async () => {
    const { id } = await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100001' });
    await queue.claim('w1', 1, 30_000);
    expect(await queue.release(id, 'w2')).toBe('lost');
    expect(await queue.release(id, 'w1')).toBe('released');
    expect(await queue.get(id)).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null });
    expect(await queue.claim('w2', 1, 30_000)).toMatchObject([{ id, attempts: 1 }]);
  });

  it('counts pending work and prunes old finished jobs', async () => {
    const done = await queue.enqueue({ kind: 'gc', key: 'gc:1', packageId: 'PS100001' });
    await queue.enqueue({ kind: 'gc', key: 'gc:2', packageId: 'PS100001', runAt: clock.now() + 1_000 });
    await queue.enqueue({ kind: 'refresh', key: 'refresh:PS100002', packageId: 'PS100002' });
    expect(await queue.pending()).toBe(2);
    expect(await queue.pending({ packageId: 'PS100001' })).toBe(1);
    expect(await queue.pending({ kinds: ['gc'] })).toBe(1);
    await queue.claim('w1', 1, 30_000, ['gc']);
    expect(await queue.pending({ kind: 'gc' })).toBe(1);
    await queue.complete(done.id, 'w1');
    expect(await queue.pending({ kind: 'gc' })).toBe(0);
    expect(await queue.list({ state: 'done' })).toMatchObject([{ id: done.id }]);
    clock.advance(7 * 24 * 3600_000);
    expect(await queue.prune(7 * 24 * 3600_000 + 1)).toBe(0);
    expect(await queue.prune(7 * 24 * 3600_000)).toBe(1);
    expect(await queue.get(done.id)).toBeUndefined();
    expect(await queue.list()).toHaveLength(2);
  });
});
