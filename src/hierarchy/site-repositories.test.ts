import { expect, it } from 'vitest';
import { alwaysOpen } from '../bandwidth/index.js';
import { forEachDialect } from '../../test/support/dialects.js';
import type { DistPointStatus } from '../distribution/index.js';
import { SiteLinkRepository } from './site-link.repository.js';
import { SiteReportRepository } from './site-report.repository.js';
import type { StatusReport } from './site-wire.js';

function dpRow(site: string, name: string, state: number, version: number): DistPointStatus {
  return {
    PackageID: 'CAS00001',
    ServerNALPath: `["Display=\\\\${name}\\"]MSWNET:["SMS_SITE=${site}"]\\\\${name}\\`,
    ServerName: name,
    SiteCode: site,
    State: state,
    StateName: state === 0 ? 'INSTALLED' : 'INSTALL_PENDING',
    SourceVersion: version,
    TargetVersion: version,
    LastCopied: null,
    SummaryDate: '2026-11-26T00:00:00.000Z',
    BytesTotal: 10,
    BytesDone: 10,
    BytesSent: 10,
    TransferRate: 0,
    Attempts: 1,
    LastError: null,
    WaitReason: null,
    ResumeAt: null,
  };
}

forEachDialect('site links and reports', (ctx) => {
  it('records a child, its contact, outage and bytes, and replaces its secret on re-join', async () => {
    const links = new SiteLinkRepository(ctx.database.db);
    await links.upsertChild(
      { siteCode: 'P01', role: 'primary', url: 'http://a', secret: 's1', version: '0.1.0' },
      1000,
    );
    await links.childUnreachable('P01', 'connection refused');
    expect(await links.findChild('P01')).toMatchObject({
      state: 'unreachable',
      lastError: 'connection refused',
      lastContact: 1000,
    });
    expect(await links.childContact('P01', 2000, '0.2.0')).toBe('unreachable');
    await links.addBytesSent('P01', 5_000_000_000);
    await links.addBytesSent('P01', 7);
    await links.upsertChild(
      { siteCode: 'P01', role: 'primary', url: 'http://b', secret: 's2', version: '0.2.0' },
      3000,
    );
    expect(await links.listChildren()).toEqual([
      {
        siteCode: 'P01',
        role: 'primary',
        url: 'http://b',
        secret: 's2',
        version: '0.2.0',
        state: 'active',
        lastContact: 3000,
        lastError: null,
        bytesSent: 5_000_000_007,
        joinedAt: 1000,
        bandwidth: { rateLimit: { mode: 'unlimited' }, availability: alwaysOpen, timeZone: null },
      },
    ]);
    await links.setChildBandwidth('P01', {
      rateLimit: { mode: 'rate', bytesPerSecond: 1000 },
      availability: alwaysOpen.map((l, i) => (i < 24 ? 3 : l)),
      timeZone: 'Europe/Berlin',
    });
    const [paced] = await links.listChildren();
    expect(paced!.bandwidth.rateLimit).toEqual({ mode: 'rate', bytesPerSecond: 1000 });
    expect(paced!.bandwidth.availability.slice(0, 25)).toEqual([...new Array<number>(24).fill(3), 0]);
    expect(paced!.bandwidth.timeZone).toBe('Europe/Berlin');
    expect(await links.parent()).toBeUndefined();
    await links.setParent({ siteCode: 'CAS', role: 'cas', url: 'http://top', secret: 'x' }, 10);
    await links.setParent({ siteCode: 'CAS', role: 'cas', url: 'http://top2', secret: 'y' }, 20);
    expect(await links.parent()).toMatchObject({
      siteCode: 'CAS',
      url: 'http://top2',
      secret: 'y',
      joinedAt: 10,
    });
  });

  it("replaces a child's whole branch with each report", async () => {
    const reports = new SiteReportRepository(ctx.database.db);
    const report = (dps: DistPointStatus[], s01Version: number): StatusReport => ({
      siteCode: 'P01',
      version: '0.1.0',
      sites: [
        {
          siteCode: 'P01',
          parentCode: 'CAS',
          role: 'primary',
          packages: [{ packageId: 'CAS00001', sourceVersion: 2 }],
        },
        {
          siteCode: 'S01',
          parentCode: 'P01',
          role: 'secondary',
          packages: [{ packageId: 'CAS00001', sourceVersion: s01Version }],
        },
      ],
      dps,
    });
    await reports.replaceBranch(
      report([dpRow('P01', 'DP01', 0, 2), dpRow('S01', 'DP01', 1, 1), dpRow('S01', 'DP02', 0, 1)], 1),
      1,
    );
    expect((await reports.dpRows('CAS00001')).map((r) => [r.SiteCode, r.ServerName, r.State])).toEqual([
      ['P01', 'DP01', 0],
      ['S01', 'DP01', 1],
      ['S01', 'DP02', 0],
    ]);
    // S01's DP02 is gone from the next report: it goes here too.
    await reports.replaceBranch(report([dpRow('P01', 'DP01', 0, 2), dpRow('S01', 'DP01', 0, 2)], 2), 2);
    expect((await reports.dpRows('CAS00001')).map((r) => [r.SiteCode, r.ServerName, r.State])).toEqual([
      ['P01', 'DP01', 0],
      ['S01', 'DP01', 0],
    ]);
    expect(await reports.siteVersions('CAS00001')).toEqual(
      new Map([
        ['P01', 2],
        ['S01', 2],
      ]),
    );
    expect((await reports.sites()).map((s) => [s.siteCode, s.parentCode, s.viaChild])).toEqual([
      ['P01', 'CAS', 'P01'],
      ['S01', 'P01', 'P01'],
    ]);
    await reports.dropBranch('P01');
    expect(await reports.dpRows('CAS00001')).toEqual([]);
  });
});
