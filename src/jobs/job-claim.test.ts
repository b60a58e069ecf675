import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { openDatabase, type SiteDatabase } from '../db/index.js';
import { FakeClock } from '../kernel/index.js';
import { JobQueue } from './job-queue.js';
import { JobWorker } from './job-worker.js';

const packages = ['PS100001', 'PS100002', 'PS100003', 'PS100004', 'PS100005'];

/** A tiny deterministic PRNG, so a failing interleaving can be replayed. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

forEachDialect('job claims', (ctx) => {
  let clock: FakeClock;
  let queue: JobQueue;
  // A second connection to the same database: another server process, as far as the database can tell.
  let second: SiteDatabase;

  beforeAll(async () => {
    second = await openDatabase(ctx.database.url);
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    await ctx.database.db.deleteFrom('job').execute();
    clock = new FakeClock();
    queue = new JobQueue(ctx.database.db, ctx.database.capabilities, clock);
  });

  async function enqueueGrid(perPackage: number): Promise<void> {
    for (const [p, pkg] of packages.entries()) {
      for (let dp = 1; dp <= perPackage; dp++) {
        await queue.enqueue({
          kind: 'transfer',
          key: `transfer:${pkg}:${dp}`,
          packageId: pkg,
          // The last package is high priority: it must be among the first three admitted.
          priority: p === 4 ? 1 : 2,
        });
      }
    }
  }

  async function runningShape(): Promise<{ packages: number; maxPerPackage: number; total: number }> {
    const running = await queue.list({ state: 'running' });
    const per = new Map<string, number>();
    for (const j of running) if (j.packageId) per.set(j.packageId, (per.get(j.packageId) ?? 0) + 1);
    return { packages: per.size, maxPerPackage: Math.max(0, ...per.values()), total: running.length };
  }

  it('admits 3 packages × 5 jobs at once, best packages first; jobs without a package are not limited', async () => {
    await enqueueGrid(8);
    for (let i = 0; i < 3; i++) await queue.enqueue({ kind: 'gc', key: `gc:${i}` });
    const claimed = await queue.claim('w1', 100, 30_000);
    const per = new Map<string | null, number>();
    for (const j of claimed) per.set(j.packageId, (per.get(j.packageId) ?? 0) + 1);
    expect(Object.fromEntries(per)).toEqual({ PS100005: 5, PS100001: 5, PS100002: 5, null: 3 });
    expect(await queue.claim('w1', 100, 30_000)).toEqual([]);
  });

  it('5 packages × 8 jobs run to the end without ever exceeding 3 packages or 5 per package', async () => {
    await enqueueGrid(8);
    const random = lcg(7);
    let peak = { packages: 0, maxPerPackage: 0 };
    for (let round = 0; round < 200; round++) {
      await queue.claim('w1', 1 + Math.floor(random() * 6), 30_000);
      const shape = await runningShape();
      expect(shape.packages).toBeLessThanOrEqual(3);
      expect(shape.maxPerPackage).toBeLessThanOrEqual(5);
      peak = {
        packages: Math.max(peak.packages, shape.packages),
        maxPerPackage: Math.max(peak.maxPerPackage, shape.maxPerPackage),
      };
      const running = await queue.list({ state: 'running' });
      if (running.length === 0 && (await queue.pending()) === 0) break;
      for (const j of running) if (random() < 0.4) await queue.complete(j.id, 'w1');
    }
    expect(peak).toEqual({ packages: 3, maxPerPackage: 5 });
    expect(await queue.list({ state: 'done' })).toHaveLength(40);
  });

  it('limits hold when two processes claim at the same time', async () => {
    await enqueueGrid(8);
    const other = new JobQueue(second.db, second.capabilities, clock);
    const random = lcg(11);
    for (let round = 0; round < 60; round++) {
      await Promise.all([queue.claim('a', 4, 30_000), other.claim('b', 4, 30_000)]);
      const shape = await runningShape();
      expect(shape.packages).toBeLessThanOrEqual(3);
      expect(shape.maxPerPackage).toBeLessThanOrEqual(5);
      const running = await queue.list({ state: 'running' });
      if (running.length === 0 && (await queue.pending()) === 0) break;
      for (const j of running) if (random() < 0.5) await queue.complete(j.id, j.leaseOwner ?? '');
    }
    expect(await queue.list({ state: 'done' })).toHaveLength(40);
  });

  it('two workers on two connections never run the same job', async () => {
    const total = 150;
    for (let i = 0; i < total; i++)
      await queue.enqueue({
        kind: 'verify',
        key: `verify:${i}`,
        packageId: i % 3 === 0 ? packages[i % 5] : null,
      });
    const runs = new Map<number, number>();
    const inFlight = new Set<number>();
    const byWorker = new Map<string, number>();
    let overlaps = 0;
    const handler = (owner: string) => async (job: { id: number }) => {
      if (inFlight.has(job.id)) overlaps++;
      inFlight.add(job.id);
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      byWorker.set(owner, (byWorker.get(owner) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 1));
      inFlight.delete(job.id);
    };
    const workers = [
      new JobWorker({
        queue,
        clock,
        owner: 'a',
        handlers: { verify: handler('a') },
        maxConcurrent: 6,
        pollMs: 5,
      }),
      new JobWorker({
        queue: new JobQueue(second.db, second.capabilities, clock),
        clock,
        owner: 'b',
        handlers: { verify: handler('b') },
        maxConcurrent: 6,
        pollMs: 5,
      }),
    ];
    await Promise.all(workers.map((w) => w.runUntilIdle()));
    expect(overlaps).toBe(0);
    expect(runs.size).toBe(total);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(byWorker.get('a')).toBeGreaterThan(0);
    expect(byWorker.get('b')).toBeGreaterThan(0);
    const jobs = await queue.list();
    expect(jobs.every((j) => j.state === 'done' && j.attempts === 1)).toBe(true);
  });
});
