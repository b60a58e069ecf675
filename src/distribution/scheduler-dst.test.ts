import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDialect } from '../../test/support/dialects.js';
import { createTestSite, type TestSite } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import { FakeClock } from '../kernel/index.js';
import type { SMS_ScheduleToken } from '../schedule/index.js';
import type { DistributionScheduler } from './index.js';

const common = { IsGMT: false, DayDuration: 0, HourDuration: 0, MinuteDuration: 0 } as const;
/** Every day at 02:30 Berlin time: on 2026-03-29 02:30 does not exist (clocks go 02:00 → 03:00). */
const daily: SMS_ScheduleToken = {
  ...common,
  Kind: 2,
  StartTime: { Year: 2026, Month: 1, Day: 1, Hour: 2, Minute: 30 },
  DaySpan: 1,
  HourSpan: 0,
  MinuteSpan: 0,
};
/** The last day of every month at 23:00 Berlin time. */
const monthEnd: SMS_ScheduleToken = {
  ...common,
  Kind: 5,
  StartTime: { Year: 2026, Month: 1, Day: 1, Hour: 23, Minute: 0 },
  MonthDay: 0,
  ForNumberOfMonths: 1,
};

/** Ticks the scheduler every `stepMs` of fake time until `to`; returns when refreshes were queued. */
async function runs(
  t: TestSite,
  clock: FakeClock,
  s: DistributionScheduler,
  to: number,
  stepMs = 15 * 60_000,
): Promise<string[]> {
  const at: string[] = [];
  while (clock.now() < to) {
    clock.advance(stepMs);
    if ((await s.refreshTick()).length > 0) at.push(new Date(clock.now()).toISOString());
    await t.drain();
  }
  return at;
}

eachDialect('the refresh scheduler on a fake clock, in Europe/Berlin', (dialect) => {
  let t: TestSite;
  let clock: FakeClock;
  let scheduler: DistributionScheduler;
  let packageId: string;

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 2, 27, 12, 0));
    t = await createTestSite(dialect, { clock });
    const src = join(t.dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'a');
    packageId = (await t.site.packages.create(PackageType.SMS_Package, { Name: 'p', PkgSourcePath: src }))
      .packageId;
    scheduler = t.site.createScheduler({ timeZone: 'Europe/Berlin' });
  });
  afterAll(() => t?.close());

  it('runs 02:30 daily through the spring DST change: the missing 02:30 runs at 03:00 CEST, once', async () => {
    await t.site.packages.update(packageId, { RefreshSchedule: [daily] });
    const at = await runs(t, clock, scheduler, Date.UTC(2026, 2, 30, 12, 0));
    // 28 Mar 02:30 CET = 01:30Z; 29 Mar 03:00 CEST = 01:00Z; 30 Mar 02:30 CEST = 00:30Z (first tick after each).
    expect(at).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('runs on the last day of March (31) and of April (30), at 23:00 local', async () => {
    await t.site.packages.update(packageId, { RefreshSchedule: [monthEnd] });
    const at = await runs(t, clock, scheduler, Date.UTC(2026, 4, 1, 12, 0), 3600_000);
    // 31 Mar 23:00 CEST = 21:00Z; 30 Apr 23:00 CEST = 21:00Z.
    expect(at).toEqual(['2026-03-31T21:00:00.000Z', '2026-04-30T21:00:00.000Z']);
  });
});
