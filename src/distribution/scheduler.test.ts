import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeOf } from '../../test/support/assertions.js';
import { eachDialect } from '../../test/support/dialects.js';
import { createTestSite, dpRoot, type TestSite } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import { FakeClock } from '../kernel/index.js';
import { writeScheduleString, type SMS_ScheduleToken } from '../schedule/index.js';
import { MessageId, type DistributionScheduler } from './index.js';

const HOUR = 3600_000;
const start = Date.UTC(2026, 10, 2, 0, 0);

/** Every hour from 2026-11-02 00:00 UTC. */
const hourly: SMS_ScheduleToken = {
  Kind: 2,
  StartTime: { Year: 2026, Month: 11, Day: 2, Hour: 0, Minute: 0 },
  IsGMT: true,
  DayDuration: 0,
  HourDuration: 0,
  MinuteDuration: 0,
  DaySpan: 0,
  HourSpan: 1,
  MinuteSpan: 0,
};

eachDialect('RefreshSchedule runs', (dialect) => {
  let t: TestSite;
  let clock: FakeClock;
  let scheduler: DistributionScheduler;
  let packageId: string;
  let src: string;
  const lines: string[] = [];

  beforeAll(async () => {
    clock = new FakeClock(start + 10 * 60_000);
    t = await createTestSite(dialect, { clock, log: (l) => lines.push(l) });
    src = join(t.dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'version one '.repeat(1000));
    packageId = (await t.site.packages.create(PackageType.SMS_Package, { Name: 'p', PkgSourcePath: src }))
      .packageId;
    await t.addDps(1);
    await t.site.distribution.addDistributionPoints(packageId, ['DP01']);
    await t.drain();
    scheduler = t.site.createScheduler({ log: (l) => lines.push(l) });
  });
  afterAll(async () => {
    await t?.close();
  });

  const sourceVersion = async () => (await t.site.packages.get(packageId)).sourceVersion;

  it('accepts at most 15 valid tokens, only on a direct source, and returns them as SMS_ScheduleToken', async () => {
    expect(await codeOf(t.site.packages.update(packageId, { RefreshSchedule: 'ZZ' }))).toBe(
      'INVALID_PARAMETER',
    );
    const sixteen = writeScheduleString(new Array<SMS_ScheduleToken>(16).fill(hourly));
    await expect(t.site.packages.update(packageId, { RefreshSchedule: sixteen })).rejects.toThrow(
      /at most 15/,
    );
    await expect(
      t.site.packages.update(packageId, { RefreshSchedule: [hourly], PkgSourceFlag: 1 }),
    ).rejects.toThrow(/needs PkgSourceFlag 2/);
    const { package: pkg } = await t.site.packages.update(packageId, { RefreshSchedule: [hourly] });
    expect(pkg.refreshSchedule).toBe(writeScheduleString([hourly]));
    expect(await scheduler.refreshTick()).toEqual([]); // set at 00:10: the 00:00 slot is not "missed"
  });

  it('skips an unchanged source by its stats, and a touched one by its content', async () => {
    clock.advance(HOUR); // 01:10: the 01:00 slot passed
    expect(await scheduler.refreshTick()).toEqual([packageId]);
    await t.drain();
    expect(await sourceVersion()).toBe(1);
    expect(lines.some((l) => l.includes('unchanged; no new version'))).toBe(true);

    utimesSync(join(src, 'a.txt'), new Date(), new Date(Date.now() + 5000)); // same bytes, new mtime
    clock.advance(HOUR);
    expect(await scheduler.refreshTick()).toEqual([packageId]);
    await t.drain();
    expect(await sourceVersion()).toBe(1);
    expect(lines.some((l) => l.includes('same content'))).toBe(true);
  });

  it('makes a version when the source changed, and the DP gets it', async () => {
    writeFileSync(join(src, 'a.txt'), 'version two '.repeat(1000));
    clock.advance(HOUR);
    expect(await scheduler.refreshTick()).toEqual([packageId]);
    await t.drain();
    expect(await sourceVersion()).toBe(2);
    const [row] = await t.site.status.distPointStatus(packageId);
    expect(row).toMatchObject({ SourceVersion: 2, State: 0 });
  });

  it('runs once for many slots missed while the server was down; an explicit refresh always makes a version', async () => {
    writeFileSync(join(src, 'b.txt'), 'new file');
    clock.advance(10 * HOUR);
    expect(await scheduler.refreshTick()).toEqual([packageId]);
    expect(await scheduler.refreshTick()).toEqual([]);
    await t.drain();
    expect(await sourceVersion()).toBe(3);
    await t.site.distribution.refreshPkgSource(packageId);
    await t.drain();
    expect(await sourceVersion()).toBe(4);
  });

  it('validates a DP on its schedule and, when set to, repairs what it finds bad', async () => {
    const file = join(dpRoot(t, 'DP01'), packageId, 'a.txt');
    const good = readFileSync(file);
    await t.site.dpSettings.setValidationSchedule('DP01', writeScheduleString([hourly]), true);
    expect((await scheduler.validationTick()).length).toBe(0); // just set: no slot missed yet
    writeFileSync(file, Buffer.alloc(good.length, 0x58)); // same size, other bytes
    clock.advance(HOUR);
    expect(await scheduler.validationTick()).toEqual([`${packageId}@DP01`]);
    await t.drain();
    const [row] = await t.site.status.distPointStatus(packageId);
    expect(row).toMatchObject({ State: 0, SourceVersion: 4 });
    expect(readFileSync(file).equals(good)).toBe(true);
    const texts = (await t.site.status.messages(packageId)).map((m) => m.MessageID);
    expect(texts).toContain(MessageId.VALIDATION_FAILED);
  });
});
