/**
 * The transfer job keeps up to two putChunks batches on their way to an unpaced DP, one at a time under a
 * rate limit, and decides a failed transfer only once every batch it sent has settled. Concurrency is
 * observed on the DP's real local-folder adapter: the registry hands the job the adapter it caches per DP,
 * so the test wraps that instance's putChunks (holding each call a moment, so overlap is visible).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDialect } from '../../test/support/dialects.js';
import { seededRandom } from '../../test/support/seeded-random.js';
import { createTestSite, dpRoot, type TestSite } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import type { DpChunk } from '../dp/index.js';
import { SitecastError } from '../kernel/index.js';
import { DpState } from './index.js';

const MiB = 1024 * 1024;

interface Probe {
  /** putChunks calls started so far. */
  calls: number;
  active: number;
  maxActive: number;
  /** What happened, in order: putChunks start/end, and whatever the test hooks add. */
  readonly events: { what: string; active: number }[];
}

/**
 * Wraps the putChunks of the adapter the site's registry caches for `dpName` (the one transfer jobs get).
 * Each call is held `holdMs(n)` before it goes to the DP (n: 1-based call number); `fail(n)` makes call n
 * reject after its hold instead, sending nothing.
 */
async function probePutChunks(
  t: TestSite,
  dpName: string,
  holdMs: (n: number) => number,
  fail: (n: number) => boolean = () => false,
): Promise<Probe> {
  const adapter = await t.site.dps.adapter(await t.site.dps.get(dpName));
  const put = adapter.putChunks.bind(adapter);
  const probe: Probe = { calls: 0, active: 0, maxActive: 0, events: [] };
  adapter.putChunks = async (packageId: string, chunks: readonly DpChunk[], signal?: AbortSignal) => {
    const n = ++probe.calls;
    probe.active++;
    probe.maxActive = Math.max(probe.maxActive, probe.active);
    probe.events.push({ what: `start ${n}`, active: probe.active });
    try {
      await new Promise((resolve) => setTimeout(resolve, holdMs(n)));
      if (fail(n)) throw new SitecastError('FAILED', `test: ${dpName} refused batch ${n}`);
      await put(packageId, chunks, signal);
    } finally {
      probe.active--;
      probe.events.push({ what: `end ${n}`, active: probe.active });
    }
  };
  return probe;
}

eachDialect('transfer pipelining: two batches in flight unpaced, one under a limit', (dialect) => {
  let t: TestSite;
  let packageId: string;
  let content: Buffer;

  beforeAll(async () => {
    t = await createTestSite(dialect);
    const src = join(t.dir, 'src');
    mkdirSync(src);
    // 40 MiB that does not deduplicate: five 8 MiB batches.
    content = seededRandom(20240601).bytes(40 * MiB);
    writeFileSync(join(src, 'image.bin'), content);
    packageId = (await t.site.packages.create(PackageType.SMS_Package, { Name: 'p', PkgSourcePath: src }))
      .packageId;
    await t.addDps(3);
    await t.drain(); // the first refresh
  }, 120_000);
  afterAll(() => t?.close());

  const row = async (dp: string) =>
    (await t.site.status.distPointStatus(packageId)).find((r) => r.ServerName === dp)!;

  it('keeps exactly two putChunks batches in flight to an unlimited DP and installs identical bytes', async () => {
    const probe = await probePutChunks(t, 'DP01', () => 250);
    await t.site.distribution.addDistributionPoints(packageId, ['DP01']);
    await t.drain();

    expect(probe.calls).toBeGreaterThanOrEqual(4);
    expect(probe.maxActive).toBe(2);
    expect(probe.active).toBe(0);
    expect((await row('DP01')).State).toBe(DpState.INSTALLED);
    expect(readFileSync(join(dpRoot(t, 'DP01'), packageId, 'image.bin')).equals(content)).toBe(true);
  }, 60_000);

  it('sends one batch at a time to a rate-limited DP', async () => {
    // High enough to stay fast: 8 MiB batches, about 40 ms of tokens each.
    await t.site.dpSettings.setBandwidth('DP02', { rateLimit: '200MB/s' });
    const probe = await probePutChunks(t, 'DP02', () => 250);
    await t.site.distribution.addDistributionPoints(packageId, ['DP02']);
    await t.drain();

    expect(probe.calls).toBeGreaterThanOrEqual(4);
    expect(probe.maxActive).toBe(1);
    expect((await row('DP02')).State).toBe(DpState.INSTALLED);
    expect(readFileSync(join(dpRoot(t, 'DP02'), packageId, 'image.bin')).equals(content)).toBe(true);
  }, 60_000);

  it('records a failed batch only after the other in-flight batch settled', async () => {
    // Batch 2 fails fast while the others are held: another batch is still on its way when it fails.
    const probe = await probePutChunks(
      t,
      'DP03',
      (n) => (n === 2 ? 10 : 300),
      (n) => n === 2,
    );
    // The failure's outcome is written in a transaction (state + status message), then noted for health,
    // then the worker settles the job: each must see no putChunks running.
    const transaction = t.site.packages.transaction.bind(t.site.packages);
    t.site.packages.transaction = (fn) => {
      probe.events.push({ what: 'transaction', active: probe.active });
      return transaction(fn);
    };
    const recordTransfer = t.site.dps.recordTransfer.bind(t.site.dps);
    t.site.dps.recordTransfer = (dpId, error) => {
      probe.events.push({ what: `recordTransfer ${error === null ? 'ok' : 'failed'}`, active: probe.active });
      return recordTransfer(dpId, error);
    };
    await t.site.distribution.addDistributionPoints(packageId, ['DP03']);
    const worker = t.site.createWorker({
      pollMs: 20,
      leaseMs: 10_000,
      log: (line) => {
        if (line.includes('failed')) probe.events.push({ what: 'worker: job failed', active: probe.active });
      },
    });
    try {
      await worker.runUntilIdle();
    } finally {
      t.site.packages.transaction = transaction;
      t.site.dps.recordTransfer = recordTransfer;
    }

    const r = await row('DP03');
    expect(r.State).toBe(DpState.INSTALL_RETRYING);
    expect(r.LastError).toContain('test: DP03 refused batch 2');
    // Batch 2 failed while another was in flight…
    const whats = probe.events.map((e) => e.what);
    expect(probe.events.find((e) => e.what === 'end 2')!.active).toBeGreaterThan(0);
    // …and everything that reports the failure came after the last send settled, with none running.
    const lastEnd = whats.findLastIndex((w) => w.startsWith('end '));
    const reports = probe.events
      .map((e, i) => ({ ...e, i }))
      .filter(
        (e) => e.i > whats.indexOf('start 1') && !e.what.startsWith('start ') && !e.what.startsWith('end '),
      );
    expect(reports.map((e) => e.what)).toEqual([
      'transaction',
      'recordTransfer failed',
      'worker: job failed',
    ]);
    for (const e of reports) {
      expect(e.i, `${e.what} after the last putChunks settled`).toBeGreaterThan(lastEnd);
      expect(e.active, `putChunks running at ${e.what}`).toBe(0);
    }
    expect(whats.filter((w) => w.startsWith('start ')).length).toBe(
      whats.filter((w) => w.startsWith('end ')).length,
    );
    expect(probe.active).toBe(0);
  }, 60_000);
});
