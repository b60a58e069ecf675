/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- response bodies are arbitrary JSON, checked field by field with expect() */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDialect } from '../../test/support/dialects.js';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';

const wmi = '/AdminService/wmi';
const q = encodeURIComponent;

eachDialect('AdminService class queries', (dialect) => {
  let f: ApiFixture;
  let pkg: string;
  let image: string;
  beforeAll(async () => {
    f = await createApiFixture(dialect);
    await f.t.addDps(2);
    pkg = (
      await f.call('POST', `${wmi}/SMS_Package`, {
        body: { Name: 'Office', PkgSourcePath: f.folderSource('o') },
      })
    ).json.PackageID;
    image = (
      await f.call('POST', `${wmi}/SMS_ImagePackage`, {
        body: { Name: 'Win', PkgSourcePath: f.wimSource('w') },
      })
    ).json.PackageID;
    await f.call('POST', `${wmi}/SMS_Package('${pkg}')/AdminService.AddDistributionPoints`, {
      body: { NALPath: ['DP01', 'DP02'] },
    });
    const g = await f.call('POST', `${wmi}/SMS_DistributionPointGroup`, { body: { Name: 'All' } });
    await f.call(
      'POST',
      `${wmi}/SMS_DistributionPointGroup('${g.json.GroupID}')/AdminService.AddDistributionPoints`,
      {
        body: { NALPaths: ['DP01'] },
      },
    );
    await f.call('POST', `${wmi}/SMS_DistributionPointGroup('${g.json.GroupID}')/AdminService.AddPackages`, {
      body: { PackageIDs: [pkg] },
    });
    await f.t.drain();
  });
  afterAll(() => f?.close());

  /** `[filter, expected @odata.count]` per class: a string filter (case-insensitive), a number or a date. */
  const cases: Record<string, readonly [string, (ids: { pkg: string; image: string }) => number]> = {
    SMS_Package: ["name eq 'OFFICE'".replace('name', 'Name'), () => 1],
    SMS_ImagePackage: ["startswith(Name,'wi') and PackageType eq 257", () => 1],
    SMS_ImageInformation: ['Index ge 1', () => 1],
    SMS_DistributionPoint: ["ServerName eq 'dp02' and Status eq 2", () => 1],
    SMS_DistributionPointInfo: ['IsPullDP eq false and Priority eq 200', () => 2],
    SMS_DistributionPointGroup: [
      "MemberCount eq 1 and Name eq 'all' and OutOfSyncContentCount eq 0",
      () => 1,
    ],
    SMS_DPGroupMembers: ["Name eq 'dp01' and SiteCode eq 'PS1'", () => 1],
    SMS_DPGroupPackages: ['AddedTime gt 2000-01-01T00:00:00Z', () => 1],
    SMS_AdminJob: ["Kind eq 'transfer' and State eq 'done' and Attempts ge 1", () => 2],
    SMS_PackageStatusDistPointsSummarizer: [
      "State eq 0 and StateName eq 'INSTALLED' and BytesSent gt 0",
      () => 2,
    ],
    SMS_PackageStatusDetailSummarizer: ["SiteCode eq 'PS1' and Targeted ge 0", () => 2],
    SMS_ObjectContentExtraInfo: ['NumberSuccess eq 2 and NumberUnknown eq 0', () => 1],
    SMS_DistributionDPStatus: ['MessageID eq 2330', () => 2],
    SMS_Site: ["SiteCode eq 'ps1' and InstallDate gt 2000-01-01T00:00:00Z", () => 1],
    SMS_AdminToken: ["Role eq 'full administrator'", () => 1],
    SMS_AdminAuditLog: ["Action eq 'method' and Result eq 0", () => 3],
  };

  for (const [cls, [filter, count]] of Object.entries(cases)) {
    it(`${cls}: lists, filters in SQL and counts`, async () => {
      const all = await f.call('GET', `${wmi}/${cls}?$count=true`);
      expect(all.status, all.text).toBe(200);
      expect(all.json.value.length).toBe(all.json['@odata.count']);
      const r = await f.call('GET', `${wmi}/${cls}?$filter=${q(filter)}&$count=true&$top=1`);
      expect(r.status, r.text).toBe(200);
      expect(r.json['@odata.count']).toBe(count({ pkg, image }));
      expect(r.json.value.length).toBe(Math.min(1, count({ pkg, image })));
    });
  }

  it('orders strings case-insensitively the same way on every dialect', async () => {
    await f.call('POST', `${wmi}/SMS_Package`, { body: { Name: 'apps' } });
    const r = await f.call('GET', `${wmi}/SMS_Package?$orderby=Name desc&$select=Name`);
    expect(r.json.value.map((v: { Name: string }) => v.Name)).toEqual(['Office', 'apps']);
  });
});
