import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDialect } from '../../test/support/dialects.js';
import { createTestSite, type TestSite } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import { DpState, DpTargetStatus, PackageDpRepository } from './index.js';

/**
 * distPointStatus reads all of a package's DP rows in one query (a JSON array on SQLite): every field of
 * every row must be what the package × DP row and the DP say, in DP id order, nulls included.
 */
eachDialect('StatusService at many DPs', (dialect) => {
  let t: TestSite;
  let packageId: string;
  let other: string;
  const states = [
    DpState.INSTALLED,
    DpState.CONTENT_UPDATING,
    DpState.INSTALL_RETRYING,
    DpState.INSTALL_FAILED,
    DpState.INSTALL_PENDING,
  ];

  beforeAll(async () => {
    t = await createTestSite(dialect);
    mkdirSync(join(t.dir, 'src'));
    writeFileSync(join(t.dir, 'src', 'a.txt'), 'content');
    const create = async (Name: string): Promise<string> =>
      (await t.site.packages.create(PackageType.SMS_Package, { Name, PkgSourcePath: join(t.dir, 'src') }))
        .packageId;
    packageId = await create('Status A');
    other = await create('Status B');
    await t.addDps(12);
    const dps = await t.site.dps.list();
    const targets = new PackageDpRepository(t.site.database.db);
    // Targeted in reverse DP order, so the answer's order comes from the query, not from insertion.
    for (const [i, dp] of [...dps].reverse().entries()) {
      const state = states[i % states.length]!;
      const installed = state === DpState.INSTALLED;
      await targets.insertIfAbsent(
        {
          packageId,
          dpId: dp.dpId,
          state,
          status: installed ? DpTargetStatus.Updated : DpTargetStatus.Added,
          targetVersion: 2,
          installedVersion: installed ? 2 : 1,
          bytesTotal: 5_000_000_000 + i,
          bytesDone: installed ? 5_000_000_000 + i : i * 1000,
          bytesSent: i * 100,
          rate: i * 10,
          attempts: i % 3,
          lastError: state === DpState.INSTALL_FAILED ? `it's "broken" \\ here: ${i}` : null,
          lastCopied: installed ? Date.UTC(2026, 10, 1, 0, 0, i) : null,
        },
        Date.UTC(2026, 10, 2, 0, 0, i),
      );
      if (i % 4 === 1) {
        await targets.update(
          packageId,
          dp.dpId,
          { waitReason: 'closed availability window', resumeAt: Date.UTC(2026, 10, 3) },
          Date.UTC(2026, 10, 2, 1, 0, i),
        );
      }
    }
    // Another package on two of the DPs: its rows must not show up.
    for (const dp of dps.slice(0, 2)) {
      await targets.insertIfAbsent(
        {
          packageId: other,
          dpId: dp.dpId,
          state: DpState.INSTALL_FAILED,
          status: DpTargetStatus.Added,
          targetVersion: 1,
          installedVersion: 0,
          bytesTotal: 1,
          bytesDone: 0,
          bytesSent: 0,
          rate: 0,
          attempts: 1,
          lastError: 'x',
          lastCopied: null,
        },
        Date.UTC(2026, 10, 2),
      );
    }
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('distPointStatus gives every row with the DP names, field by field, in DP id order', async () => {
    // listForPackage reads the rows one object each, ordered by DP id: the reference.
    const targets = new PackageDpRepository(t.site.database.db);
    const dps = new Map((await t.site.dps.list()).map((dp) => [dp.dpId, dp]));
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    const expected = (await targets.listForPackage(packageId)).map((r) => {
      const dp = dps.get(r.dpId)!;
      const installed = r.state === DpState.INSTALLED;
      return {
        PackageID: packageId,
        ServerNALPath: dp.nalPath,
        ServerName: dp.name,
        SiteCode: dp.siteCode,
        State: r.state,
        StateName: Object.entries(DpState).find(([, c]) => c === r.state)![0],
        SourceVersion: r.installedVersion,
        TargetVersion: r.targetVersion,
        LastCopied: iso(r.lastCopied),
        SummaryDate: iso(r.updatedAt),
        BytesTotal: r.bytesTotal,
        BytesDone: r.bytesDone,
        BytesSent: r.bytesSent,
        TransferRate: r.rate,
        Attempts: r.attempts,
        LastError: r.lastError,
        WaitReason: installed ? null : r.waitReason,
        ResumeAt: installed ? null : iso(r.resumeAt),
      };
    });
    expect(expected).toHaveLength(12);
    expect(expected.some((r) => r.WaitReason !== null && r.ResumeAt !== null)).toBe(true);
    const rows = await t.site.status.distPointStatus(packageId);
    expect(rows).toEqual(expected);
    expect(rows.find((r) => r.LastError !== null)?.LastError).toMatch(/^it's "broken" \\ here: \d+$/);
  });

  it('a package targeted nowhere has no rows and zero counts', async () => {
    const none = (
      await t.site.packages.create(PackageType.SMS_Package, {
        Name: 'Status C',
        PkgSourcePath: join(t.dir, 'src'),
      })
    ).packageId;
    expect(await t.site.status.distPointStatus(none)).toEqual([]);
    expect(await t.site.status.contentExtraInfo(none)).toMatchObject({
      Targeted: 0,
      NumberSuccess: 0,
      NumberInProgress: 0,
      NumberErrors: 0,
      NumberUnknown: 0,
    });
  });

  it('contentExtraInfo and siteDetail count the states of the package’s rows only', async () => {
    expect(await t.site.status.contentExtraInfo(packageId)).toMatchObject({
      ObjectID: packageId,
      SoftwareName: 'Status A',
      Targeted: 12,
      // 12 rows over 5 states in turn: INSTALLED ×3 (success), CONTENT_UPDATING ×3 and INSTALL_PENDING ×2
      // and INSTALL_RETRYING ×2 (in progress), INSTALL_FAILED ×2 (error).
      NumberSuccess: 3,
      NumberInProgress: 7,
      NumberErrors: 2,
      NumberUnknown: 0,
    });
    expect(await t.site.status.siteDetail(packageId)).toEqual([
      {
        PackageID: packageId,
        SiteCode: 'PS1',
        Targeted: 12,
        Installed: 3,
        Retrying: 2,
        Failed: 2,
        SourceVersion: 0,
      },
    ]);
  });
});
