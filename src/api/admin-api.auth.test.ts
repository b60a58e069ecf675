/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- response bodies are arbitrary JSON, checked field by field with expect() */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';

const wmi = '/AdminService/wmi';

describe('AdminService: bearer tokens, roles, audit log', () => {
  let f: ApiFixture;
  let pkg: string;
  beforeAll(async () => {
    f = await createApiFixture();
    pkg = (await f.call('POST', `${wmi}/SMS_Package`, { body: { Name: 'Base' } })).json.PackageID;
  });
  afterAll(() => f.close());

  const audit = async (filter: string): Promise<Record<string, unknown>[]> =>
    (await f.call('GET', `${wmi}/SMS_AdminAuditLog?$filter=${encodeURIComponent(filter)}&$orderby=ID`)).json
      .value;

  it('401 without a token or with a bad one, for reads, $metadata and the OpenAPI document alike', async () => {
    for (const url of [
      `${wmi}/SMS_Package`,
      `${wmi}/`,
      `${wmi}/$metadata`,
      '/AdminService/openapi.json',
      `${wmi}/SMS_Nope`,
    ]) {
      const r = await f.call('GET', url, { token: null });
      expect(r.status, url).toBe(401);
      expect(r.json.error).toMatchObject({ code: '0x80041003', name: 'UNAUTHENTICATED' });
    }
    const bad = await f.call('GET', `${wmi}/SMS_Package`, { token: 'sct_' + 'A'.repeat(43) });
    expect(bad.status).toBe(401);
  });

  it('a write without a token is refused with 401 and audited with no principal', async () => {
    const r = await f.call('PATCH', `${wmi}/SMS_Package('${pkg}')`, {
      token: null,
      body: { Description: 'x' },
    });
    expect(r.status).toBe(401);
    const m = await f.call('POST', `${wmi}/SMS_Package('${pkg}')/AdminService.RefreshPkgSource`, {
      token: null,
    });
    expect([m.status, m.json.ReturnValue]).toEqual([401, 0x80041003 | 0]);
    const entries = await audit(`PrincipalName eq null and Target eq '${pkg}'`);
    expect(entries.map((e) => [e.Action, e.Method, e.Result])).toEqual([
      ['update', null, 0x80041003],
      ['method', 'RefreshPkgSource', 0x80041003],
    ]);
  });

  it('a Read-only Analyst reads but may not write (403, audited); it may call read-only methods', async () => {
    const read = await f.call('GET', `${wmi}/SMS_Package`, { token: f.tokens.reader });
    expect(read.status).toBe(200);
    const write = await f.call('POST', `${wmi}/SMS_Package`, {
      token: f.tokens.reader,
      body: { Name: 'Nope' },
    });
    expect(write.status).toBe(403);
    expect(write.json.error).toMatchObject({ code: '0x80041003', name: 'ACCESS_DENIED' });
    const method = await f.call('POST', `${wmi}/SMS_Package('${pkg}')/AdminService.RefreshPkgSource`, {
      token: f.tokens.reader,
    });
    expect([method.status, method.json.ReturnValue]).toEqual([403, 0x80041003 | 0]);
    const schedule = await f.call('POST', `${wmi}/SMS_ScheduleMethods.ReadFromString`, {
      token: f.tokens.reader,
      body: { StringData: '' },
    });
    expect(schedule.json).toEqual({ ReturnValue: 0, TokenData: [] });
    const entries = await audit("PrincipalName eq 'analyst'");
    expect(entries.map((e) => [e.Action, e.ClassName, e.Result])).toEqual([
      ['create', 'SMS_Package', 0x80041003],
      ['method', 'SMS_Package', 0x80041003],
      ['method', 'SMS_ScheduleMethods', 0],
    ]);
    expect(entries[0]!.Detail).toMatch(/ACCESS_DENIED/);
    expect(entries[0]!.RemoteAddress).toBe('127.0.0.1');
  });

  it('successful and failed writes are audited with their target and result', async () => {
    await f.call('PATCH', `${wmi}/SMS_Package('${pkg}')`, { body: { Description: 'ok' } });
    await f.call('PATCH', `${wmi}/SMS_Package('${pkg}')`, { body: { PackageSize: 1 } });
    const entries = await audit(`PrincipalName eq 'admin' and Action eq 'update' and Target eq '${pkg}'`);
    expect(entries.map((e) => e.Result)).toEqual([0, 0x80041008]);
    const denied = await f.call('PATCH', `${wmi}/SMS_AdminAuditLog(1)`, { body: { Detail: 'forged' } });
    expect(denied.status).toBe(405);
  });

  it('SMS_AdminToken: Full Administrator only; create shows the secret once, delete revokes', async () => {
    expect((await f.call('GET', `${wmi}/SMS_AdminToken`, { token: f.tokens.ops })).status).toBe(403);
    expect((await f.call('GET', `${wmi}/SMS_AdminToken`, { token: f.tokens.reader })).status).toBe(403);
    const created = await f.call('POST', `${wmi}/SMS_AdminToken`, {
      body: { Name: 'ci', Role: 'Read-only Analyst' },
    });
    expect(created.status, created.text).toBe(201);
    const secret = created.json.Token as string;
    expect(secret).toMatch(/^sct_/);
    expect(created.json).toMatchObject({ Name: 'ci', Role: 'Read-only Analyst', IsRevoked: false });
    const list = await f.call('GET', `${wmi}/SMS_AdminToken`);
    expect(list.text).not.toContain(secret);
    expect(list.json.value.map((t: { Name: string }) => t.Name)).toEqual([
      'admin',
      'operator',
      'analyst',
      'ci',
    ]);
    expect((await f.call('GET', `${wmi}/SMS_Site`, { token: secret })).status).toBe(200);
    const opsCreate = await f.call('POST', `${wmi}/SMS_AdminToken`, {
      token: f.tokens.ops,
      body: { Name: 'x', Role: 'full' },
    });
    expect(opsCreate.status).toBe(403);
    expect((await f.call('DELETE', `${wmi}/SMS_AdminToken(${created.json.ID})`)).status).toBe(204);
    expect((await f.call('GET', `${wmi}/SMS_Site`, { token: secret })).status).toBe(401);
    const revoked = await f.call('GET', `${wmi}/SMS_AdminToken(${created.json.ID})`);
    expect(revoked.json.value[0].IsRevoked).toBe(true);
    const badRole = await f.call('POST', `${wmi}/SMS_AdminToken`, { body: { Name: 'y', Role: 'god' } });
    expect(badRole.status).toBe(400);
    expect(badRole.json.error.details[0].ParameterInfo).toBe('Role');
  });

  it('an Operations Administrator may target content but not create packages', async () => {
    await f.t.addDps(1);
    const add = await f.call('POST', `${wmi}/SMS_DistributionPoint`, {
      token: f.tokens.ops,
      body: { PackageID: pkg, ServerNALPath: 'DP01' },
    });
    // Allowed by the role; the package has no source, so the catalog refuses it (NO_SOURCE).
    expect(add.status).toBe(400);
    expect(add.json.error.name).toBe('NO_SOURCE');
    expect(
      (await f.call('POST', `${wmi}/SMS_Package`, { token: f.tokens.ops, body: { Name: 'x' } })).status,
    ).toBe(403);
  });
});
