/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- response bodies are arbitrary JSON, checked field by field with expect() */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpRoot } from '../../test/support/site-fixture.js';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';

const wmi = '/AdminService/wmi';
const q = (s: string): string => encodeURIComponent(s);
/** An OData string literal. */
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

describe('AdminService: DPs, targets, DP groups, status classes, sites, schedules', () => {
  let f: ApiFixture;
  let pkg: string;
  let dp01: string;
  beforeAll(async () => {
    f = await createApiFixture();
    const r = await f.call('POST', `${wmi}/SMS_Package`, {
      body: { Name: 'Agent', PkgSourcePath: f.folderSource('agent') },
    });
    pkg = r.json.PackageID;
  });
  afterAll(() => f.close());

  it('SMS_DistributionPointInfo: create a local DP, read it by NALPath, update, maintenance mode, delete', async () => {
    const created = await f.call('POST', `${wmi}/SMS_DistributionPointInfo`, {
      body: { Name: 'DP01', Path: join(f.t.dir, 'dps', 'DP01') },
    });
    expect(created.status, created.text).toBe(201);
    dp01 = created.json.NALPath;
    expect(dp01).toBe('["Display=\\\\DP01\\"]MSWNET:["SMS_SITE=PS1"]\\\\DP01\\');
    expect(created.json).toMatchObject({ Name: 'DP01', Kind: 'local', MaintenanceMode: false, Url: null });
    await f.call('POST', `${wmi}/SMS_DistributionPointInfo`, {
      body: { Name: 'DP02', Path: join(f.t.dir, 'dps', 'DP02') },
    });
    const one = await f.call('GET', `${wmi}/SMS_DistributionPointInfo(${q(lit(dp01))})`);
    expect(one.status, one.text).toBe(200);
    expect(one.json.value[0].ServerName).toBe('DP01');
    const patched = await f.call('PATCH', `${wmi}/SMS_DistributionPointInfo(${q(lit(dp01))})`, {
      body: { MaintenanceMode: true, RateLimit: '4MB/s' },
      headers: { 'if-match': String(one.headers.etag) },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ MaintenanceMode: true, RateLimitsEnabled: true });
    const stale = await f.call('PATCH', `${wmi}/SMS_DistributionPointInfo(${q(lit(dp01))})`, {
      body: { MaintenanceMode: false },
      headers: { 'if-match': String(one.headers.etag) },
    });
    expect(stale.status).toBe(412);
    const off = await f.call('POST', `${wmi}/SMS_DistributionPointInfo.SetDPMaintenanceMode`, {
      body: { NALPath: dp01, Mode: 0 },
    });
    expect(off.json).toEqual({ ReturnValue: 0 });
    const badMode = await f.call('POST', `${wmi}/SMS_DistributionPointInfo.SetDPMaintenanceMode`, {
      body: { NALPath: dp01, Mode: 7 },
    });
    expect(badMode.json.ReturnValue).toBe(0x80041008 | 0);
    const filtered = await f.call(
      'GET',
      `${wmi}/SMS_DistributionPointInfo?$filter=${q("Name eq 'dp02'")}&$select=Name`,
    );
    expect(filtered.json.value).toEqual([{ Name: 'DP02' }]);
    const noPath = await f.call('POST', `${wmi}/SMS_DistributionPointInfo`, { body: { Name: 'DP09' } });
    expect(noPath.status).toBe(400);
    const ro = await f.call('PATCH', `${wmi}/SMS_DistributionPointInfo(${q(lit(dp01))})`, {
      body: { SiteCode: 'X' },
    });
    expect(ro.json.error.message).toMatch(/SiteCode is read-only/);
  });

  it('SMS_DistributionPointInfo: a remote DP takes Url and Secret; the secret never comes back', async () => {
    const secret = 's3cret-'.repeat(6);
    const noSecret = await f.call('POST', `${wmi}/SMS_DistributionPointInfo`, {
      body: { Name: 'DP05', Url: 'http://127.0.0.1:1' },
    });
    expect([noSecret.status, noSecret.json.error.details[0].ParameterInfo]).toEqual([400, 'Secret']);
    const offline = await f.call('POST', `${wmi}/SMS_DistributionPointInfo`, {
      body: { Name: 'DP05', Url: 'http://127.0.0.1:1', Secret: secret },
    });
    expect(offline.status).toBe(503);
    const created = await f.call('POST', `${wmi}/SMS_DistributionPointInfo`, {
      body: { Name: 'DP05', Url: 'http://127.0.0.1:1', Secret: secret, AllowOffline: true },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ Kind: 'http', Url: 'http://127.0.0.1:1', Path: null });
    const list = await f.call('GET', `${wmi}/SMS_DistributionPointInfo?$filter=${q("Kind eq 'http'")}`);
    expect(list.json.value).toHaveLength(1);
    expect(list.text).not.toContain(secret);
    expect(
      (await f.call('DELETE', `${wmi}/SMS_DistributionPointInfo(${q(lit(String(created.json.NALPath)))})`))
        .status,
    ).toBe(204);
  });

  it('SMS_DistributionPoint: create targets, RefreshNow, VerifyPackage, CancelDistribution, delete removes', async () => {
    const created = await f.call('POST', `${wmi}/SMS_DistributionPoint`, {
      body: { PackageID: pkg, ServerNALPath: 'DP01' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ PackageID: pkg, ServerNALPath: dp01, Status: 2 });
    await f.t.drain();
    expect(existsSync(join(dpRoot(f.t, 'DP01'), pkg, 'file.txt'))).toBe(true);
    const key = `PackageID=${q(lit(pkg))},ServerNALPath=${q(lit(dp01))}`;
    const one = await f.call('GET', `${wmi}/SMS_DistributionPoint(${key})`);
    expect(one.status, one.text).toBe(200);
    const refresh = await f.call('PATCH', `${wmi}/SMS_DistributionPoint(${key})`, {
      body: { RefreshNow: true },
    });
    expect(refresh.status, refresh.text).toBe(200);
    expect(refresh.json.Status).toBe(1);
    await f.t.drain();
    const verify = await f.call('POST', `${wmi}/SMS_DistributionPoint.VerifyPackage`, {
      body: { PackageId: pkg, NALPath: dp01 },
    });
    expect(verify.status).toBe(201);
    expect(verify.json.JobID).toEqual(expect.any(Number));
    const notTargeted = await f.call('POST', `${wmi}/SMS_DistributionPoint.VerifyPackage`, {
      body: { PackageId: pkg, NALPath: 'DP02' },
    });
    expect([notTargeted.status, notTargeted.json.ReturnValue]).toEqual([404, 0x80041002 | 0]);
    const missing = await f.call('POST', `${wmi}/SMS_DistributionPoint.CancelDistribution`, {
      body: { PackageId: pkg },
    });
    expect(missing.json.error.details[0].ParameterInfo).toBe('NALPath');
    const cancel = await f.call('POST', `${wmi}/SMS_DistributionPoint.CancelDistribution`, {
      body: { PackageId: pkg, NALPath: 'DP01' },
    });
    expect(cancel.status).toBe(201);
    const state = await f.call(
      'GET',
      `${wmi}/SMS_PackageStatusDistPointsSummarizer?$filter=${q(`PackageID eq '${pkg}'`)}`,
    );
    expect(state.json.value[0]).toMatchObject({ State: 3, StateName: 'INSTALL_FAILED', ServerName: 'DP01' });
    expect((await f.call('DELETE', `${wmi}/SMS_DistributionPoint(${key})`)).status).toBe(204);
    await f.t.drain();
    expect(existsSync(join(dpRoot(f.t, 'DP01'), pkg))).toBe(false);
  });

  it('SMS_DistributionPointGroup: CRUD and every group method', async () => {
    const g = await f.call('POST', `${wmi}/SMS_DistributionPointGroup`, {
      body: { Name: 'Branches', Description: 'all' },
    });
    expect(g.status, g.text).toBe(201);
    const id = g.json.GroupID as string;
    expect(id).toMatch(/^\{[0-9A-F-]{36}\}$/);
    const at = `${wmi}/SMS_DistributionPointGroup(${q(lit(id))})`;
    const call = (m: string, body: unknown) => f.call('POST', `${at}/AdminService.${m}`, { body });
    expect(
      (await call('AddDistributionPoints', { NALPaths: ['DP01', dp01.replace('DP01', 'DP01')] })).json,
    ).toEqual({ ReturnValue: 0 });
    const wrongSite = await call('AddDistributionPoints', { SiteCodes: ['XYZ'], NALPaths: ['DP02'] });
    expect([wrongSite.status, wrongSite.json.error.details[0].ParameterInfo]).toEqual([400, 'SiteCodes']);
    expect((await call('AddDistributionPoints', { SiteCodes: ['PS1'], NALPaths: ['DP02'] })).json).toEqual({
      ReturnValue: 0,
    });
    expect((await call('AddPackages', { PackageIDs: [pkg] })).json).toEqual({ ReturnValue: 0 });
    await f.t.drain();
    const read = await f.call('GET', at);
    expect(read.json.value[0]).toMatchObject({ Name: 'Branches', MemberCount: 2, ContentCount: 1 });
    expect((await call('ReDistributePackage', { PackageID: pkg })).json).toEqual({ ReturnValue: 0 });
    await f.t.drain();
    expect((await call('RefreshDPGroup', {})).json).toEqual({ ReturnValue: 0, Targeted: 0 });
    expect((await call('RemoveDistributionPoints', { NALPaths: ['DP02'] })).json).toEqual({ ReturnValue: 0 });
    expect((await call('RemovePackages', { PackageIDs: [pkg] })).json).toEqual({ ReturnValue: 0 });
    const wrongType = await call('AddPackages', { PackageIDs: pkg });
    expect([wrongType.status, wrongType.json.ReturnValue]).toEqual([400, 0x80041005 | 0]);
    const extra = await call('RefreshDPGroup', { Force: true });
    expect(extra.json.error.message).toMatch(/no parameter Force/);
    const renamed = await f.call('PATCH', at, { body: { Name: 'Branch offices' } });
    expect(renamed.json.Name).toBe('Branch offices');
    const filtered = await f.call(
      'GET',
      `${wmi}/SMS_DistributionPointGroup?$filter=${q('MemberCount eq 1')}`,
    );
    expect(filtered.json.value.map((x: { GroupID: string }) => x.GroupID)).toEqual([id]);
    expect((await f.call('DELETE', at)).status).toBe(204);
    expect((await f.call('GET', at)).status).toBe(404);
    expect(
      (await f.call('POST', `${wmi}/SMS_DistributionPointGroup('{nope}')/AdminService.RefreshDPGroup`)).json
        .ReturnValue,
    ).toBe(0x80041002 | 0);
  });

  it('status classes filter and count in SQL', async () => {
    await f.call('POST', `${wmi}/SMS_Package('${pkg}')/AdminService.AddDistributionPoints`, {
      body: { NALPath: ['DP01', 'DP02'] },
    });
    await f.t.drain();
    const extra = await f.call('GET', `${wmi}/SMS_ObjectContentExtraInfo?$filter=${q('NumberSuccess ge 2')}`);
    expect(extra.json.value).toEqual([
      expect.objectContaining({
        ObjectID: pkg,
        Targeted: 2,
        NumberSuccess: 2,
        NumberErrors: 0,
        NumberUnknown: 0,
      }),
    ]);
    const detail = await f.call(
      'GET',
      `${wmi}/SMS_PackageStatusDetailSummarizer(PackageID=${q(lit(pkg))},SiteCode='PS1')`,
    );
    expect(detail.json.value[0]).toMatchObject({ Targeted: 2, Installed: 2, Failed: 0 });
    const perDp = await f.call(
      'GET',
      `${wmi}/SMS_PackageStatusDistPointsSummarizer?$filter=${q('State eq 0 and BytesSent ge 0')}&$count=true`,
    );
    expect(perDp.json['@odata.count']).toBe(2);
    const msgs = await f.call(
      'GET',
      `${wmi}/SMS_DistributionDPStatus?$filter=${q(`MessageID eq 2330 and Name eq 'DP02'`)}&$top=1`,
    );
    expect(msgs.json.value).toHaveLength(1);
    expect(msgs.json.value[0].Text).toMatch(/DP02/);
    expect(msgs.json.value[0].InsertionStrings).toContain(pkg);
    const unfilterable = await f.call('GET', `${wmi}/SMS_DistributionDPStatus?$filter=${q("Text eq 'x'")}`);
    expect(unfilterable.status).toBe(400);
    const ro = await f.call('DELETE', `${wmi}/SMS_ObjectContentExtraInfo(${q(lit(pkg))})`);
    expect(ro.status).toBe(405);
  });

  it('SMS_Site is this site; SMS_ScheduleMethods converts schedule strings both ways', async () => {
    const site = await f.call('GET', `${wmi}/SMS_Site('PS1')`);
    expect(site.json.value[0]).toMatchObject({ SiteCode: 'PS1', Type: 2, Status: 1 });
    const read = await f.call('POST', `${wmi}/SMS_ScheduleMethods.ReadFromString`, {
      body: { StringData: '7913788000080000' },
    });
    expect(read.status, read.text).toBe(201);
    expect(read.json.TokenData).toEqual([
      expect.objectContaining({
        Kind: 1,
        IsGMT: false,
        StartTime: { Year: 2004, Month: 7, Day: 19, Hour: 8, Minute: 30 },
      }),
    ]);
    const write = await f.call('POST', `${wmi}/SMS_ScheduleMethods.WriteToString`, {
      body: { TokenData: read.json.TokenData },
    });
    expect(write.json).toEqual({ ReturnValue: 0, StringData: '7913788000080000' });
    const bad = await f.call('POST', `${wmi}/SMS_ScheduleMethods.ReadFromString`, {
      body: { StringData: 'XYZ' },
    });
    expect([bad.status, bad.json.ReturnValue]).toEqual([400, 0x80041008 | 0]);
  });
});
