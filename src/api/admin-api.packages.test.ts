/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- response bodies are arbitrary JSON, checked field by field with expect() */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';

const wmi = '/AdminService/wmi';

describe('AdminService: SMS_Package, SMS_ImagePackage, SMS_ImageInformation', () => {
  let f: ApiFixture;
  let appId: string;
  let imageId: string;
  beforeAll(async () => {
    f = await createApiFixture();
    await f.t.addDps(2);
    const app = await f.call('POST', `${wmi}/SMS_Package`, {
      body: { Name: 'Office', Version: '16', PkgSourcePath: f.folderSource('office'), PackageType: 0 },
    });
    expect(app.status, app.text).toBe(201);
    appId = app.json.PackageID;
    const image = await f.call('POST', `${wmi}/SMS_ImagePackage`, {
      body: { Name: 'Windows 11', PkgSourcePath: f.wimSource('install'), ImageIndex: 1 },
    });
    expect(image.status, image.text).toBe(201);
    imageId = image.json.PackageID;
    await f.call('POST', `${wmi}/SMS_Package`, {
      body: { Name: 'Zip tools', PkgSourcePath: f.folderSource('zip') },
    });
  });
  afterAll(() => f.close());

  it('creates with 201, a Location and the SMS-shaped instance', async () => {
    const r = await f.call('POST', `${wmi}/SMS_Package`, { body: { Name: 'Temp', Priority: 1 } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      Name: 'Temp',
      Priority: 1,
      PackageType: 0,
      PkgSourceFlag: 1,
      SourceSite: 'PS1',
    });
    expect(r.headers.location).toBe(`${wmi}/SMS_Package(${encodeURIComponent(`'${r.json.PackageID}'`)})`);
    expect((await f.call('DELETE', `${wmi}/SMS_Package('${r.json.PackageID}')`)).status).toBe(204);
    expect((await f.call('GET', `${wmi}/SMS_Package('${r.json.PackageID}')`)).status).toBe(404);
  });

  it('lists each class with its own type only, lazy properties left out', async () => {
    const pkgs = await f.call('GET', `${wmi}/SMS_Package`);
    expect(pkgs.json['@odata.context']).toBe(`${wmi}/$metadata#SMS_Package`);
    expect(pkgs.json.value.map((p: { Name: string }) => p.Name)).toEqual(['Office', 'Zip tools']);
    const images = await f.call('GET', `${wmi}/SMS_ImagePackage`);
    expect(images.json.value).toHaveLength(1);
    expect(images.json.value[0]).not.toHaveProperty('ImageProperty');
    expect(images.json.value[0].ImageIndex).toBe(1);
  });

  it('filters, selects, orders, pages and counts in SQL', async () => {
    const r = await f.call(
      'GET',
      `${wmi}/SMS_Package?$filter=${encodeURIComponent("contains(Name,'o') and Priority eq 2")}&$select=Name,PackageID&$orderby=Name desc&$top=1&$count=true`,
    );
    expect(r.status, r.text).toBe(200);
    expect(r.json['@odata.count']).toBe(2);
    expect(r.json.value).toEqual([{ Name: 'Zip tools', PackageID: expect.stringMatching(/^PS1/) }]);
    const skip = await f.call('GET', `${wmi}/SMS_Package?$orderby=Name&$skip=1&$select=Name`);
    expect(skip.json.value).toEqual([{ Name: 'Zip tools' }]);
  });

  it('reads one instance with its lazy ImageProperty and an ETag from SedoObjectVersion', async () => {
    const r = await f.call('GET', `${wmi}/SMS_ImagePackage('${imageId}')`);
    expect(r.status).toBe(200);
    expect(r.json.value).toHaveLength(1);
    expect(r.json.value[0].ImageProperty).toMatch(/<WIM>/);
    expect(r.headers.etag).toBe(`W/"${r.json.value[0].SedoObjectVersion}"`);
    const sel = await f.call('GET', `${wmi}/SMS_ImagePackage('${imageId}')?$select=Name`);
    expect(sel.json.value).toEqual([{ Name: 'Windows 11' }]);
    // An image package is not an SMS_Package instance.
    const wrong = await f.call('GET', `${wmi}/SMS_Package('${imageId}')`);
    expect(wrong.status).toBe(404);
    expect(wrong.json.error.code).toBe('0x80041002');
  });

  it('updates with PATCH and with POST on the key; If-Match guards against lost updates', async () => {
    const read = await f.call('GET', `${wmi}/SMS_Package('${appId}')`);
    const etag = String(read.headers.etag);
    const patched = await f.call('PATCH', `${wmi}/SMS_Package('${appId}')`, {
      body: { Description: 'suite' },
      headers: { 'if-match': etag },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.Description).toBe('suite');
    expect(patched.headers.etag).not.toBe(etag);
    const stale = await f.call('PATCH', `${wmi}/SMS_Package('${appId}')`, {
      body: { Description: 'lost' },
      headers: { 'if-match': etag },
    });
    expect(stale.status).toBe(412);
    expect(stale.json.error.name).toBe('STALE_OBJECT');
    const staleBody = await f.call('POST', `${wmi}/SMS_Package('${appId}')`, {
      body: { Description: 'lost', SedoObjectVersion: read.json.value[0].SedoObjectVersion },
    });
    expect(staleBody.status).toBe(412);
    const posted = await f.call('POST', `${wmi}/SMS_Package('${appId}')`, {
      body: { Manufacturer: 'Contoso' },
    });
    expect(posted.status).toBe(200);
    const now = await f.call('GET', `${wmi}/SMS_Package('${appId}')`);
    expect(now.json.value[0]).toMatchObject({ Description: 'suite', Manufacturer: 'Contoso' });
    const staleDelete = await f.call('DELETE', `${wmi}/SMS_Package('${appId}')`, {
      headers: { 'if-match': etag },
    });
    expect(staleDelete.status).toBe(412);
  });

  it('refuses read-only and unknown properties with 400 naming them', async () => {
    const ro = await f.call('PATCH', `${wmi}/SMS_Package('${appId}')`, { body: { SourceVersion: 9 } });
    expect(ro.status).toBe(400);
    expect(ro.json.error.message).toMatch(/SourceVersion is read-only/);
    expect(ro.json.error.details[0].ParameterInfo).toBe('SourceVersion');
    const unknown = await f.call('POST', `${wmi}/SMS_Package`, { body: { Name: 'x', Nmae: 'y' } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toMatch(/no property Nmae/);
    const badType = await f.call('POST', `${wmi}/SMS_Package`, { body: { Name: 'x', Priority: 7 } });
    expect(badType.status).toBe(400);
    expect(badType.json.error.details[0].ParameterInfo).toBe('Priority');
  });

  it('writes RefreshSchedule as SMS_ScheduleToken objects and reads it back; 16 tokens are refused', async () => {
    const token = {
      Kind: 2,
      StartTime: { Year: 2026, Month: 12, Day: 1, Hour: 2, Minute: 0 },
      IsGMT: false,
      DayDuration: 0,
      HourDuration: 0,
      MinuteDuration: 0,
      DaySpan: 1,
      HourSpan: 0,
      MinuteSpan: 0,
    };
    const w = await f.call('PATCH', `${wmi}/SMS_Package('${appId}')`, { body: { RefreshSchedule: [token] } });
    expect(w.status, JSON.stringify(w.json)).toBe(200);
    const read = await f.call('GET', `${wmi}/SMS_Package('${appId}')`);
    expect(read.json.value[0].RefreshSchedule).toEqual([expect.objectContaining({ Kind: 2, DaySpan: 1 })]);
    const many = await f.call('PATCH', `${wmi}/SMS_Package('${appId}')`, {
      body: { RefreshSchedule: new Array(16).fill(token) },
    });
    expect(many.status).toBe(400);
    expect(many.json.error.message).toMatch(/at most 15/);
    const cleared = await f.call('PATCH', `${wmi}/SMS_Package('${appId}')`, {
      body: { RefreshSchedule: [] },
    });
    expect(cleared.status).toBe(200);
  });

  it('writing RefreshPkgSourceFlag true refreshes, RefreshPkgSource method too (201, ReturnValue 0)', async () => {
    const w = await f.call('PATCH', `${wmi}/SMS_Package('${appId}')`, {
      body: { RefreshPkgSourceFlag: true },
    });
    expect(w.status).toBe(200);
    expect(w.json.ActionInProgress).toBe(1);
    await f.t.drain();
    expect((await f.call('GET', `${wmi}/SMS_Package('${appId}')`)).json.value[0].SourceVersion).toBe(1);
    const m = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.RefreshPkgSource`, {
      body: {},
    });
    expect(m.status).toBe(201);
    // The refresh job, so a client can follow it in SMS_AdminJob.
    expect(m.json).toEqual({ ReturnValue: 0, JobID: expect.any(Number), Coalesced: false });
    await f.t.drain();
    expect((await f.call('GET', `${wmi}/SMS_Package('${appId}')`)).json.value[0].SourceVersion).toBe(2);
  });

  it('AddDistributionPoints targets DPs; a SiteCode that does not match fails with a non-zero ReturnValue', async () => {
    const bad = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.AddDistributionPoints`, {
      body: { SiteCode: ['XX9'], NALPath: ['DP01'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.ReturnValue).toBe(0x80041008 | 0);
    expect(bad.json.error.details[0]).toMatchObject({
      ParameterInfo: 'SiteCode',
      Operation: 'SMS_Package.AddDistributionPoints',
    });
    const ok = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.AddDistributionPoints`, {
      body: { SiteCode: ['PS1'], NALPath: ['DP01'] },
    });
    expect(ok.status, ok.text).toBe(201);
    await f.t.drain();
    const rows = await f.call('GET', `${wmi}/SMS_DistributionPoint?$filter=PackageID eq '${appId}'`);
    expect(rows.json.value.map((r: { ServerName: string }) => r.ServerName)).toEqual(['DP01']);
  });

  it('AddChangeNotification sends the current version to DPs that lack it', async () => {
    // DP01 has version 2 installed: nothing to do.
    const r = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.AddChangeNotification`);
    expect(r.json).toEqual({ ReturnValue: 0, Processed: 0 });
  });

  it('SetSourceSite moves ownership (refresh then fails with a ReturnValue), Unlock brings it back', async () => {
    const moved = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.SetSourceSite`, {
      body: { SourceSite: 'CHI' },
    });
    expect(moved.status).toBe(201);
    const refused = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.RefreshPkgSource`);
    expect(refused.status).toBe(409);
    expect(refused.json.ReturnValue).toBe(0x80041003 | 0);
    expect(refused.json.error.code).toBe('0x80041003');
    const bad = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.SetSourceSite`, {
      body: { SourceSite: 'toolong' },
    });
    expect(bad.json.ReturnValue).not.toBe(0);
    await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.Unlock`, { body: {} });
    expect((await f.call('GET', `${wmi}/SMS_Package('${appId}')`)).json.value[0].SourceSite).toBe('PS1');
  });

  it('GetImageProperties is static; ReloadImageProperties re-reads the WIM', async () => {
    const get = await f.call('POST', `${wmi}/SMS_ImagePackage.GetImageProperties`, {
      body: { SourceImagePath: f.wimSource('probe') },
    });
    expect(get.status, get.text).toBe(201);
    expect(get.json.ImageProperty).toMatch(/<IMAGE INDEX="1">/);
    const alt = await f.call('POST', `${wmi}/SMS_ImagePackage/AdminService.GetImageProperties`, {
      body: { SourceImagePath: '/nonexistent/x.wim' },
    });
    expect(alt.status).toBe(422);
    expect(alt.json.ReturnValue).toBe(0x80070002 | 0);
    const onInstance = await f.call(
      'POST',
      `${wmi}/SMS_ImagePackage('${imageId}')/AdminService.GetImageProperties`,
      {
        body: { SourceImagePath: '/x.wim' },
      },
    );
    expect(onInstance.status).toBe(400);
    const reload = await f.call(
      'POST',
      `${wmi}/SMS_ImagePackage('${imageId}')/AdminService.ReloadImageProperties`,
    );
    expect(reload.json).toEqual({ ReturnValue: 0 });
    const notImage = await f.call(
      'POST',
      `${wmi}/SMS_Package('${appId}')/AdminService.ReloadImageProperties`,
    );
    expect(notImage.status).toBe(405);
    expect(notImage.json.ReturnValue).toBe(0x8004100c | 0);
  });

  it('SMS_ImageInformation lists image rows, filters them and reads one by composite key', async () => {
    const all = await f.call('GET', `${wmi}/SMS_ImageInformation?$filter=PackageID eq '${imageId}'`);
    expect(all.json.value.length).toBeGreaterThan(0);
    expect(all.json.value[0]).toMatchObject({ PackageID: imageId, Index: 1 });
    const one = await f.call('GET', `${wmi}/SMS_ImageInformation(PackageID='${imageId}',Index=1)`);
    expect(one.status, one.text).toBe(200);
    expect(one.json.value[0].Name).toBe(all.json.value[0].Name);
    expect((await f.call('GET', `${wmi}/SMS_ImageInformation(PackageID='${imageId}',Index=99)`)).status).toBe(
      404,
    );
    const write = await f.call('POST', `${wmi}/SMS_ImageInformation`, { body: { Name: 'x' } });
    expect(write.status).toBe(405);
  });

  it('answers unknown classes, instances, methods and bad queries with WBEM codes', async () => {
    const cls = await f.call('GET', `${wmi}/SMS_Nope`);
    expect([cls.status, cls.json.error.code]).toEqual([404, '0x80041010']);
    const inst = await f.call('GET', `${wmi}/SMS_Package('PS1FFFFF')`);
    expect([inst.status, inst.json.error.code]).toEqual([404, '0x80041002']);
    const method = await f.call('POST', `${wmi}/SMS_Package('PS1FFFFF')/AdminService.RefreshPkgSource`);
    expect([method.status, method.json.ReturnValue]).toEqual([404, 0x80041002 | 0]);
    const noSuch = await f.call('POST', `${wmi}/SMS_Package('${appId}')/AdminService.Explode`);
    expect(noSuch.json.error.message).toMatch(/no method Explode.*RefreshPkgSource/);
    const filter = await f.call('GET', `${wmi}/SMS_Package?$filter=${encodeURIComponent("Name eq 'x' and")}`);
    expect(filter.status).toBe(400);
    expect(filter.json.error.code).toBe('0x80041017');
    expect(filter.json.error.details[0]).toMatchObject({ ParameterInfo: '$filter', position: 16 });
    const typed = await f.call('GET', `${wmi}/SMS_Package?$filter=Priority eq 'high'`);
    expect([typed.status, typed.json.error.code]).toEqual([400, '0x80041005']);
    const path = await f.call('GET', `${wmi}/SMS_Package('unterminated`);
    expect(path.status).toBe(400);
  });
});
