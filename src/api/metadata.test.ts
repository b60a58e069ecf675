/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- response bodies are arbitrary JSON, checked field by field with expect() */
import { rmSync } from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';
import { apiClasses } from './class-registry.js';

const wmi = '/AdminService/wmi';

/** The classes the issue names, spelled as admins' scripts spell them. */
const expectedClasses = [
  'SMS_Package',
  'SMS_ImagePackage',
  'SMS_DistributionPoint',
  'SMS_DistributionPointInfo',
  'SMS_DistributionPointGroup',
  'SMS_DPGroupMembers',
  'SMS_DPGroupPackages',
  'SMS_PackageStatusDistPointsSummarizer',
  'SMS_PackageStatusDetailSummarizer',
  'SMS_ObjectContentExtraInfo',
  'SMS_DistributionDPStatus',
  'SMS_ImageInformation',
  'SMS_Site',
  'SMS_ScheduleMethods',
  'SMS_AdminToken',
  'SMS_AdminAuditLog',
  'SMS_AdminJob',
];

interface XmlNode {
  readonly [key: string]: unknown;
}
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('service document, $metadata, OpenAPI, /healthz, /metrics', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await createApiFixture();
  });
  afterAll(() => f.close());

  it('the service document lists every class with instances', async () => {
    const r = await f.call('GET', `${wmi}/`);
    expect(r.status).toBe(200);
    const names = r.json.value.map((v: { name: string }) => v.name);
    expect([...names].sort()).toEqual(expectedClasses.filter((c) => c !== 'SMS_ScheduleMethods').sort());
  });

  it('$metadata is CSDL XML with an EntityType per class, every property typed, keys and actions', async () => {
    const r = await f.call('GET', `${wmi}/$metadata`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/xml/);
    expect(XMLValidator.validate(r.text)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(r.text) as XmlNode;
    const schema = ((doc['edmx:Edmx'] as XmlNode)['edmx:DataServices'] as XmlNode).Schema as XmlNode;
    const types = list(schema.EntityType as XmlNode[]);
    expect(types.map((t) => String(t.Name)).sort()).toEqual([...expectedClasses].sort());
    for (const cls of apiClasses) {
      const t = types.find((x) => x.Name === cls.name)!;
      const props = list(t.Property as XmlNode[]);
      expect(
        props.map((p) => p.Name),
        cls.name,
      ).toEqual(Object.keys(cls.properties));
      for (const p of props)
        expect(String(p.Type), `${cls.name}.${String(p.Name)}`).toMatch(/^(Collection\()?Edm\.\w+\)?$/);
      const keys = list((t.Key as XmlNode | undefined)?.PropertyRef as XmlNode[] | undefined).map(
        (k) => k.Name,
      );
      expect(keys, cls.name).toEqual(cls.key);
    }
    const pkg = list(types.find((t) => t.Name === 'SMS_Package')!.Property as XmlNode[]);
    const typeOf = (n: string): unknown => pkg.find((p) => p.Name === n)?.Type;
    expect([
      typeOf('PackageID'),
      typeOf('SourceDate'),
      typeOf('RefreshPkgSourceFlag'),
      typeOf('SourceVersion'),
    ]).toEqual(['Edm.String', 'Edm.DateTimeOffset', 'Edm.Boolean', 'Edm.Int64']);
    const actions = list(schema.Action as XmlNode[]).map((a) => a.Name);
    for (const m of [
      'RefreshPkgSource',
      'GetImageProperties',
      'SetDPMaintenanceMode',
      'RefreshDPGroup',
      'WriteToString',
    ]) {
      expect(actions).toContain(m);
    }
    const sets = list((schema.EntityContainer as XmlNode).EntitySet as XmlNode[]).map((s) => s.Name);
    expect(sets).toContain('SMS_ObjectContentExtraInfo');
  });

  it('the OpenAPI 3.1 document has a path per collection, instance and method', async () => {
    const r = await f.call('GET', '/AdminService/openapi.json', { token: f.tokens.reader });
    expect(r.status).toBe(200);
    expect(r.json.openapi).toBe('3.1.0');
    const paths = Object.keys(r.json.paths);
    expect(paths).toContain(`${wmi}/SMS_Package`);
    expect(paths).toContain(`${wmi}/SMS_Package({PackageID})`);
    expect(paths).toContain(`${wmi}/SMS_Package({PackageID})/AdminService.RefreshPkgSource`);
    expect(paths).toContain(`${wmi}/SMS_ImagePackage.GetImageProperties`);
    expect(paths).toContain(
      `${wmi}/SMS_DistributionPoint(PackageID={PackageID},ServerNALPath={ServerNALPath})`,
    );
    for (const cls of apiClasses) {
      for (const m of cls.methods ?? [])
        expect(paths.some((p) => p.includes(`${cls.name}`) && p.endsWith(`.${m.name}`))).toBe(true);
    }
    const pkgSchema = r.json.components.schemas.SMS_Package;
    expect(pkgSchema.properties.SourceVersion).toMatchObject({ readOnly: true });
    expect(pkgSchema.properties.Name.readOnly).toBeUndefined();
    expect(r.json.paths[`${wmi}/SMS_Package({PackageID})`].patch).toBeDefined();
    expect(r.json.paths[`${wmi}/SMS_ObjectContentExtraInfo({ObjectID})`].patch).toBeUndefined();
  });

  it('/metrics exposes HTTP counts and latency by route and status, jobs, bytes per DP and states', async () => {
    await f.t.addDps(1);
    const src = f.folderSource('m');
    const id = (await f.call('POST', `${wmi}/SMS_Package`, { body: { Name: 'M', PkgSourcePath: src } })).json
      .PackageID;
    await f.call('POST', `${wmi}/SMS_Package('${id}')/AdminService.AddDistributionPoints`, {
      body: { NALPath: ['DP01'] },
    });
    await f.call('GET', `${wmi}/SMS_Package('PS1FFFFF')`);
    await f.t.drain();
    const r = await f.call('GET', '/metrics', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = r.text;
    expect(body).toContain(
      `sitecast_http_requests_total{method="GET",route="${wmi}/SMS_Package({key})",status="404"} 1`,
    );
    expect(body).toMatch(
      new RegExp(
        `sitecast_http_request_duration_seconds_count\\{method="POST",route="${wmi}/SMS_Package\\(\\{key\\}\\)/AdminService.AddDistributionPoints",status="201"\\} 1`,
      ),
    );
    expect(body).toMatch(/sitecast_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+/);
    expect(body).toMatch(/sitecast_jobs\{kind="transfer",state="done"\} 1/);
    expect(body).toMatch(/sitecast_jobs\{kind="refresh",state="done"\} 1/);
    expect(body).toMatch(/sitecast_dp_bytes_sent\{dp="DP01"\} [1-9]\d*/);
    expect(body).toContain('sitecast_package_dp_states{state="INSTALLED"} 1');
    expect(body).toContain('sitecast_package_dp_states{state="INSTALL_FAILED"} 0');
    for (const line of body.trim().split('\n'))
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? [\d.e+-]+)$/);
  });

  it('/healthz is 200 while the database and content library are there, 503 naming what is not', async () => {
    const ok = await f.call('GET', '/healthz', { token: null });
    expect([ok.status, ok.json]).toEqual([
      200,
      { status: 'ok', checks: { database: 'ok', contentLibrary: 'ok' } },
    ]);
    rmSync(f.t.site.library.packsDir, { recursive: true, force: true });
    const bad = await f.call('GET', '/healthz', { token: null });
    expect(bad.status).toBe(503);
    expect(bad.json.status).toBe('error');
    expect(bad.json.checks.database).toBe('ok');
    expect(bad.json.checks.contentLibrary).toMatch(/ENOENT/);
  });
});
