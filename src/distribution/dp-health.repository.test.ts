/** A DP's recorded health on both dialects: what `dp list` and SMS_DistributionPointInfo read back. */
import { expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { DpRepository, nalPathOf } from './dp.repository.js';

const GiB = 1024 ** 3;
const t0 = Date.UTC(2026, 10, 26, 9, 0);

forEachDialect('DP health columns', (ctx) => {
  it('starts unknown, keeps the last contact and free space through an outage, and notes transfers', async () => {
    const repo = new DpRepository(ctx.database.db);
    const dp = await repo.insert({
      name: 'DP01',
      nalPath: nalPathOf('DP01', 'PS1'),
      serverName: 'DP01',
      siteCode: 'PS1',
      kind: 'local',
      config: { kind: 'local', root: '/srv/dp01' },
      isPull: false,
      priority: 200,
      maintenanceMode: false,
      createdAt: t0,
    });
    expect(dp.health).toEqual({
      state: 'unknown',
      lastError: null,
      lastContactAt: null,
      checkedAt: null,
      freeBytes: null,
      transferError: null,
    });

    // Bigger than 2^32: free space and times are bigints on PostgreSQL and must come back as numbers.
    await repo.recordHealth(dp.dpId, { state: 'online', reachable: true, at: t0, freeBytes: 750 * GiB });
    await repo.recordHealth(dp.dpId, {
      state: 'offline',
      reachable: false,
      at: t0 + 60_000,
      error: 'DP folder /srv/dp01 does not exist',
    });
    expect((await repo.findById(dp.dpId))!.health).toEqual({
      state: 'offline',
      lastError: 'DP folder /srv/dp01 does not exist',
      lastContactAt: t0,
      checkedAt: t0 + 60_000,
      freeBytes: 750 * GiB,
      transferError: null,
    });

    await repo.recordTransfer(dp.dpId, '0x80041001 activate PS100001: disk full', t0 + 90_000);
    expect((await repo.findByRef('dp01'))!.health).toMatchObject({
      transferError: '0x80041001 activate PS100001: disk full',
      lastContactAt: t0,
    });
    // A transfer that succeeds clears it and counts as contact.
    await repo.recordTransfer(dp.dpId, null, t0 + 120_000);
    const [listed] = await repo.list();
    expect(listed!.health).toMatchObject({
      transferError: null,
      lastContactAt: t0 + 120_000,
      state: 'offline',
    });
  });
});
