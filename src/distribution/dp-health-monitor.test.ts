/**
 * DpHealthMonitor on a fake clock with fake adapters: the classification a person sees in `dp list`, one
 * log line per state change, the probe timeout, and the bound on probes at once.
 */
import { describe, expect, it } from 'vitest';
import type { DpAdapter, DpHealth } from '../dp/index.js';
import { FakeClock } from '../kernel/index.js';
import { DpHealthMonitor, type DpHealthMonitorOptions } from './dp-health-monitor.js';
import type { DistributionPoint, DpHealthCheck, DpHealthRecord } from './dp.repository.js';

const GiB = 1024 ** 3;
type Probe = (signal?: AbortSignal) => Promise<DpHealth>;

/** DPs held in memory the way DpRepository records them, each with a replaceable probe. */
class FakeDps {
  readonly rows = new Map<number, { dp: DistributionPoint; health: DpHealthRecord }>();
  readonly probes = new Map<number, Probe>();
  readonly calls = new Map<number, number>();

  add(name: string, probe: Probe): number {
    const dpId = this.rows.size + 1;
    const dp = {
      dpId,
      name,
      nalPath: `\\\\${name}\\`,
      serverName: name,
      siteCode: 'PS1',
      kind: 'http',
      config: { kind: 'http', url: `http://${name}:8450`, secret: 's' },
      isPull: false,
      priority: 200,
      maintenanceMode: false,
      createdAt: 0,
    } satisfies DistributionPoint;
    const health: DpHealthRecord = {
      state: 'unknown',
      lastError: null,
      lastContactAt: null,
      checkedAt: null,
      freeBytes: null,
      transferError: null,
    };
    this.rows.set(dpId, { dp, health });
    this.probes.set(dpId, probe);
    return dpId;
  }

  health(dpId: number): DpHealthRecord {
    return this.rows.get(dpId)!.health;
  }

  setTransferError(dpId: number, error: string | null): void {
    const row = this.rows.get(dpId)!;
    row.health = { ...row.health, transferError: error };
  }

  list = (): Promise<DistributionPoint[]> =>
    Promise.resolve([...this.rows.values()].map((r) => ({ ...r.dp, health: r.health })));

  adapter = (dp: DistributionPoint): Promise<DpAdapter> => {
    const health: Probe = (signal) => {
      this.calls.set(dp.dpId, (this.calls.get(dp.dpId) ?? 0) + 1);
      return this.probes.get(dp.dpId)!(signal);
    };
    return Promise.resolve({ health } as unknown as DpAdapter);
  };

  /** DpRepository.recordHealth's rules: contact and free space only on an answer, the error only when set. */
  recordHealth = (dpId: number, c: DpHealthCheck): Promise<void> => {
    const row = this.rows.get(dpId)!;
    row.health = {
      ...row.health,
      state: c.state,
      checkedAt: c.at,
      ...(c.error !== undefined && { lastError: c.error }),
      ...(c.reachable && { lastContactAt: c.at }),
      ...(c.freeBytes !== undefined && { freeBytes: c.freeBytes }),
    };
    return Promise.resolve();
  };
}

const answers =
  (h: DpHealth): Probe =>
  () =>
    Promise.resolve(h);
const healthy: DpHealth = { online: true, freeBytes: 500 * GiB, totalBytes: 1000 * GiB };

function monitorOf(dps: FakeDps, clock: FakeClock, lines: string[], options: DpHealthMonitorOptions = {}) {
  return new DpHealthMonitor(
    { dps, repo: dps, clock, log: (l) => lines.push(l) },
    { intervalMs: 60_000, timeoutMs: 10_000, ...options },
  );
}

/** Lets pending promise callbacks run (the monitor awaits a few of them between steps). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

describe('DpHealthMonitor', () => {
  it('classifies online, degraded and offline, recording contact only on answers and errors only on problems', async () => {
    const clock = new FakeClock();
    const dps = new FakeDps();
    const lines: string[] = [];
    const ok = dps.add('DP01', answers(healthy));
    const lowAbsolute = dps.add('DP02', answers({ online: true, freeBytes: 0.5 * GiB }));
    const lowShare = dps.add('DP03', answers({ online: true, freeBytes: 40 * GiB, totalBytes: 1000 * GiB }));
    const storeError = dps.add(
      'DP04',
      answers({ online: true, freeBytes: 50 * GiB, error: 'index unreadable' }),
    );
    const failing = dps.add('DP05', answers(healthy));
    dps.setTransferError(failing, '0x80041001 putChunks PS100001: connection reset');
    const gone = dps.add('DP06', answers({ online: false, error: 'DP folder /srv/dp06 does not exist' }));
    const monitor = monitorOf(dps, clock, lines);

    const t0 = clock.now();
    const round = await monitor.checkAll();
    expect(round.map((r) => [r.dp, r.state])).toEqual([
      ['DP01', 'online'],
      ['DP02', 'degraded'],
      ['DP03', 'degraded'],
      ['DP04', 'degraded'],
      ['DP05', 'degraded'],
      ['DP06', 'offline'],
    ]);
    expect(dps.health(ok)).toEqual({
      state: 'online',
      lastError: null,
      lastContactAt: t0,
      checkedAt: t0,
      freeBytes: 500 * GiB,
      transferError: null,
    });
    expect(dps.health(lowAbsolute).lastError).toBe('free space low: 0.50 GiB free, under 1.00 GiB or 5 %');
    expect(dps.health(lowShare).lastError).toBe(
      'free space low: 40.0 GiB free of 1000.0 GiB (4.0 %), under 1.00 GiB or 5 %',
    );
    expect(dps.health(storeError).lastError).toBe('the DP reports: index unreadable');
    expect(dps.health(failing).lastError).toBe(
      'the last transfer to it failed: 0x80041001 putChunks PS100001: connection reset',
    );
    // Offline: no contact recorded, no free space invented.
    expect(dps.health(gone)).toMatchObject({
      state: 'offline',
      lastError: 'DP folder /srv/dp06 does not exist',
      lastContactAt: null,
      checkedAt: t0,
      freeBytes: null,
    });

    // A transfer that succeeds again clears the degradation; the last error stays for people to read.
    dps.setTransferError(failing, null);
    clock.advance(60_000);
    await monitor.checkAll();
    expect(dps.health(failing)).toMatchObject({
      state: 'online',
      lastContactAt: t0 + 60_000,
      lastError: expect.stringMatching(/^the last transfer to it failed/) as unknown,
    });
  });

  it('logs a DP going offline and coming back once each, not on every round', async () => {
    const clock = new FakeClock();
    const dps = new FakeDps();
    const lines: string[] = [];
    const dp = dps.add('DP01', answers(healthy));
    const monitor = monitorOf(dps, clock, lines);
    await monitor.checkAll();
    expect(lines).toEqual(['DP DP01 health unknown → online (500.0 GiB free)']);

    dps.probes.set(
      dp,
      answers({ online: false, error: 'health: DP agent http://DP01:8450 is unreachable (ECONNREFUSED)' }),
    );
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      await monitor.checkAll();
    }
    dps.probes.set(dp, answers(healthy));
    for (let i = 0; i < 2; i++) {
      clock.advance(60_000);
      await monitor.checkAll();
    }
    expect(lines).toEqual([
      'DP DP01 health unknown → online (500.0 GiB free)',
      'DP DP01 health online → offline: health: DP agent http://DP01:8450 is unreachable (ECONNREFUSED)',
      'DP DP01 health offline → online (500.0 GiB free)',
    ]);
    expect(dps.calls.get(dp)).toBe(6);
  });

  it('makes a DP that does not answer within the timeout offline, aborting its probe', async () => {
    const clock = new FakeClock();
    const dps = new FakeDps();
    const lines: string[] = [];
    let aborted = false;
    // An agent that never answers; the adapter honours the abort as HttpDpAdapter does.
    const dp = dps.add('DP01', (signal) => {
      return new Promise((resolve) =>
        signal!.addEventListener('abort', () => {
          aborted = true;
          resolve({ online: false, error: 'health on DP agent http://DP01:8450: cancelled' });
        }),
      );
    });
    const monitor = monitorOf(dps, clock, lines);
    const round = monitor.checkAll();
    await settle();
    expect(dps.health(dp).state).toBe('unknown');
    clock.advance(9_999);
    await settle();
    expect(dps.health(dp).state).toBe('unknown');
    clock.advance(1);
    const [result] = await round;
    expect(aborted).toBe(true);
    expect(result).toMatchObject({ state: 'offline', error: 'no answer to the health probe within 10 s' });
    expect(dps.health(dp).lastContactAt).toBeNull();
  });

  it('does not pile up probes on a DP whose probe ignores the abort (a hung mount)', async () => {
    const clock = new FakeClock();
    const dps = new FakeDps();
    let release: ((h: DpHealth) => void) | undefined;
    const dp = dps.add('DP01', () => new Promise((resolve) => (release = resolve)));
    const monitor = monitorOf(dps, clock, []);
    const first = monitor.checkAll();
    await settle();
    clock.advance(10_000);
    expect((await first)[0]).toMatchObject({ state: 'offline' });
    clock.advance(50_000);
    const [second] = await monitor.checkAll();
    expect(second).toMatchObject({
      state: 'offline',
      error: 'the health probe sent earlier has not returned (it gets 10 s)',
    });
    expect(dps.calls.get(dp)).toBe(1);
    // Once the hung call returns, the next round probes again.
    release!(healthy);
    dps.probes.set(dp, answers(healthy));
    await settle();
    clock.advance(60_000);
    const [third] = await monitor.checkAll();
    expect(third).toMatchObject({ state: 'online' });
    expect(dps.calls.get(dp)).toBe(2);
  });

  it('probes at most `concurrency` DPs at once, and every DP in the round', async () => {
    const clock = new FakeClock();
    const dps = new FakeDps();
    let running = 0;
    let peak = 0;
    const waiting: (() => void)[] = [];
    const probe: Probe = () =>
      new Promise((resolve) => {
        running++;
        peak = Math.max(peak, running);
        waiting.push(() => {
          running--;
          resolve(healthy);
        });
      });
    for (let i = 1; i <= 50; i++) dps.add(`DP${String(i).padStart(2, '0')}`, probe);
    const monitor = monitorOf(dps, clock, [], { concurrency: 4 });
    const round = monitor.checkAll();
    let released = 0;
    while (released < 50) {
      await settle();
      const batch = waiting.splice(0);
      expect(batch.length).toBeGreaterThan(0);
      expect(running).toBeLessThanOrEqual(4);
      for (const go of batch) go();
      released += batch.length;
    }
    const results = await round;
    expect(peak).toBe(4);
    expect(results).toHaveLength(50);
    expect(results.every((r) => r.state === 'online')).toBe(true);
  });

  it('runs a round at start and then every interval until stopped', async () => {
    const clock = new FakeClock();
    const dps = new FakeDps();
    const dp = dps.add('DP01', answers(healthy));
    const monitor = monitorOf(dps, clock, []);
    monitor.start();
    await settle();
    expect(dps.calls.get(dp)).toBe(1);
    clock.advance(59_000);
    await settle();
    expect(dps.calls.get(dp)).toBe(1);
    clock.advance(1_000);
    await settle();
    expect(dps.calls.get(dp)).toBe(2);
    await monitor.stop();
    clock.advance(120_000);
    await settle();
    expect(dps.calls.get(dp)).toBe(2);
  });

  it('stops at once while a probe hangs, recording nothing about the DP', async () => {
    const clock = new FakeClock();
    const dps = new FakeDps();
    const dp = dps.add('DP01', () => new Promise<DpHealth>(() => undefined));
    const monitor = monitorOf(dps, clock, []);
    monitor.start();
    await settle();
    expect(dps.calls.get(dp)).toBe(1);
    await monitor.stop();
    expect(dps.health(dp).state).toBe('unknown');
  });
});
