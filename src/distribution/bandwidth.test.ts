import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDialect } from '../../test/support/dialects.js';
import { createTestSite, type TestSite } from '../../test/support/site-fixture.js';
import { Availability, alwaysOpen, withHours } from '../bandwidth/index.js';
import { PackageType } from '../catalog/index.js';
import { DpState } from './index.js';

const HOUR = 3600_000;

eachDialect('availability windows and maintenance mode hold transfers back, saying why', (dialect) => {
  let t: TestSite;
  let packageId: string;

  beforeAll(async () => {
    t = await createTestSite(dialect);
    const src = join(t.dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'branch office content '.repeat(5000));
    packageId = (await t.site.packages.create(PackageType.SMS_Package, { Name: 'p', PkgSourcePath: src }))
      .packageId;
    await t.addDps(2);
  });
  afterAll(() => t?.close());

  const row = async (dp: string) =>
    (await t.site.status.distPointStatus(packageId)).find((r) => r.ServerName === dp)!;

  it('defers a transfer while the window is closed, names when it opens, and sends once it is open', async () => {
    // Closed for normal priority in every hour but the one two hours from now (UTC).
    const now = Date.now();
    const open = new Date(Math.floor(now / HOUR) * HOUR + 2 * HOUR);
    let week = withHours(alwaysOpen, [0, 1, 2, 3, 4, 5, 6], 0, 24, Availability.HighOnly);
    week = withHours(week, [open.getUTCDay()], open.getUTCHours(), open.getUTCHours() + 1, Availability.All);
    await t.site.dpSettings.setBandwidth('DP01', { availability: week, timeZone: 'UTC' });
    await t.site.distribution.addDistributionPoints(packageId, ['DP01', 'DP02']);
    await t.drain();

    expect((await row('DP02')).State).toBe(DpState.INSTALLED);
    const held = await row('DP01');
    expect(held.State).toBe(DpState.INSTALL_PENDING);
    expect(held.WaitReason).toContain('availability window of DP01 is closed for priority 2 (medium)');
    expect(held.ResumeAt).toBe(open.toISOString());
    const jobs = await t.site.queue.list({ key: `transfer:${packageId}:1` });
    expect(jobs.map((j) => [j.state, j.attempts, j.runAt])).toEqual([['queued', 0, open.getTime()]]);

    // The admin opens the window: the deferred transfer runs at once.
    await t.site.dpSettings.setBandwidth('DP01', { availability: alwaysOpen });
    await t.drain();
    expect(await row('DP01')).toMatchObject({ State: DpState.INSTALLED, WaitReason: null, ResumeAt: null });
  });

  it('says so when the window never opens for the package priority', async () => {
    const highOnly = withHours(alwaysOpen, [0, 1, 2, 3, 4, 5, 6], 0, 24, Availability.HighOnly);
    await t.site.dpSettings.setBandwidth('DP02', { availability: highOnly });
    await t.site.distribution.redistribute(packageId, 'DP02');
    await t.drain();
    const held = await row('DP02');
    expect(held.State).toBe(DpState.CONTENT_UPDATING);
    expect(held.WaitReason).toContain('never opens for priority 2');
    expect(held.ResumeAt).toBeNull();
    await t.site.dpSettings.setBandwidth('DP02', { availability: alwaysOpen });
    await t.drain();
    expect((await row('DP02')).State).toBe(DpState.INSTALLED);
  });

  it('holds new content for a DP in maintenance mode but still validates it', async () => {
    await t.site.dpSettings.setMaintenanceMode('DP01', true);
    await t.site.distribution.redistribute(packageId, 'DP01');
    await t.drain();
    expect((await row('DP01')).WaitReason).toContain('DP01 is in maintenance mode');
    await t.site.distribution.verifyPackage(packageId, 'DP02');
    await t.drain();
    expect((await row('DP02')).State).toBe(DpState.INSTALLED);

    await t.site.dpSettings.setMaintenanceMode('DP01', false);
    await t.drain();
    expect(await row('DP01')).toMatchObject({ State: DpState.INSTALLED, WaitReason: null });
  });

  it('rejects bad settings naming them, changing nothing', async () => {
    await expect(t.site.dpSettings.setBandwidth('DP01', { rateLimit: 'fast' })).rejects.toThrow(
      /rate limit "fast"/,
    );
    await expect(t.site.dpSettings.setBandwidth('DP01', { timeZone: 'Mars/Olympus' })).rejects.toThrow(
      /Mars\/Olympus/,
    );
    await expect(t.site.dpSettings.setBandwidth('DP09', { rateLimit: '1MB/s' })).rejects.toThrow(/DP09/);
    expect((await t.site.dps.get('DP01')).bandwidth?.rateLimit).toEqual({ mode: 'unlimited' });
  });
});
