/* eslint-disable @typescript-eslint/no-unsafe-assignment -- the client library answers `any` (parsed JSON), checked field by field with expect() */
/**
 * The AdminService as a third-party OData V4 client sees it: `@odata/client` (npm, OData V4 mode) over real
 * HTTP on a loopback port, used the way its documentation shows (EntitySet CRUD, query options, bound
 * actions, `commonHeaders` for the bearer token, `fetchProxy` to watch status codes and headers).
 */
import { defaultProxy, OData, type FetchProxy } from '@odata/client';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenApi } from './api-server.js';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';

interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** The body as the library parsed it (JSON object, or text). */
  readonly content: unknown;
}

/** The SMS_Package properties this test reads, as the entity set's type for the library. */
interface SmsPackage {
  readonly '@odata.context'?: string;
  readonly '@odata.etag'?: string;
  readonly PackageID: string;
  readonly PackageType: number;
  readonly Name: string;
  readonly Description: string;
  readonly Priority: number;
  readonly PkgSourcePath: string;
  readonly SourceVersion: number;
  readonly SourceDate: string | null;
  readonly SedoObjectVersion: string;
}

interface XmlNode {
  readonly [key: string]: unknown;
}
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('AdminService through the @odata/client OData V4 library', () => {
  let f: ApiFixture;
  let serviceEndpoint: string;
  const exchanges: Exchange[] = [];
  const last = (): Exchange => exchanges[exchanges.length - 1]!;
  /** The library's own fetch, recording what came back so a test can see status and headers. */
  const recording: FetchProxy = async (url, init) => {
    const result = await defaultProxy(url, init);
    exchanges.push({
      method: init.method ?? 'GET',
      url,
      status: result.response.status,
      headers: result.response.headers,
      content: result.content,
    });
    return result;
  };
  /** A V4 client as its users make one: service root, bearer token and extra headers in commonHeaders. */
  const client = (headers: Record<string, string> = {}, token = f.tokens.full) =>
    OData.New4({
      serviceEndpoint,
      commonHeaders: { Authorization: `Bearer ${token}`, 'OData-MaxVersion': '4.0', ...headers },
      fetchProxy: recording,
    });
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    f = await createApiFixture();
    serviceEndpoint = `${await listenApi(f.app, { port: 0, host: '127.0.0.1' })}/AdminService/wmi/`;
  });
  afterAll(() => f?.close());

  it('reads the service document and $metadata, whose CSDL declares what the client calls', async () => {
    const odata = client();
    const root = await odata.newRequest({ collection: '' });
    expect(last().status).toBe(200);
    expect(last().headers.get('odata-version')).toBe('4.0');
    expect(root['@odata.context']).toMatch(/\/AdminService\/wmi\/\$metadata$/);
    expect(root.value).toContainEqual({ name: 'SMS_Package', kind: 'EntitySet', url: 'SMS_Package' });

    const xml = await odata.newRequest({ collection: '$metadata' });
    expect(last().headers.get('content-type')).toMatch(/^application\/xml/);
    expect(typeof xml).toBe('string');
    expect(XMLValidator.validate(xml as unknown as string)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      xml as unknown as string,
    ) as XmlNode;
    const edmx = doc['edmx:Edmx'] as XmlNode;
    expect(edmx.Version).toBe('4.0');
    const schema = (edmx['edmx:DataServices'] as XmlNode).Schema as XmlNode;
    expect(schema.Namespace).toBe('AdminService');
    // Every entity set of the service document is in the container, typed by an entity type with a key.
    const sets = list((schema.EntityContainer as XmlNode).EntitySet as XmlNode[]);
    const types = list(schema.EntityType as XmlNode[]);
    for (const { name } of root.value as { name: string }[]) {
      const set = sets.find((s) => s.Name === name);
      expect(set?.EntityType, name).toBe(`AdminService.${name}`);
      expect(types.find((t) => t.Name === name)?.Key, name).toBeDefined();
    }
    // The properties this test filters on, and the key the client formats as ('…').
    const pkg = types.find((t) => t.Name === 'SMS_Package')!;
    expect((pkg.Key as XmlNode).PropertyRef).toEqual({ Name: 'PackageID' });
    const typeOf = (n: string): unknown => list(pkg.Property as XmlNode[]).find((p) => p.Name === n)?.Type;
    expect([typeOf('PackageID'), typeOf('Name'), typeOf('Priority')]).toEqual([
      'Edm.String',
      'Edm.String',
      // Priority is a UInt32 in WMI; OData has no unsigned types.
      'Edm.Int64',
    ]);
    // AdminService.RefreshPkgSource is an action bound to one SMS_Package, answering ReturnValue.
    const refresh = list(schema.Action as XmlNode[]).find(
      (a) =>
        a.Name === 'RefreshPkgSource' &&
        list(a.Parameter as XmlNode[])[0]?.Type === 'AdminService.SMS_Package',
    );
    expect(refresh?.IsBound).toBe('true');
    const resultType = String((refresh?.ReturnType as XmlNode).Type).replace(/^AdminService\./, '');
    const result = list(schema.ComplexType as XmlNode[]).find((c) => c.Name === resultType);
    expect(list(result?.Property as XmlNode[]).map((p) => p.Name)).toEqual([
      'ReturnValue',
      'JobID',
      'Coalesced',
    ]);
  });

  it('creates packages: 201, the entity with @odata.context, @odata.etag and the ETag header', async () => {
    const packages = client().getEntitySet<SmsPackage>('SMS_Package');
    for (const [name, priority] of [
      ['Windows tools', 2],
      ['Windows drivers', 2],
      ['Winzip', 1],
      ['Office', 2],
    ] as const) {
      const created = await packages.create({
        Name: name,
        Priority: priority,
        PkgSourcePath: f.folderSource(name.replace(' ', '-')),
      });
      expect(last().status).toBe(201);
      expect(created).toMatchObject({ Name: name, Priority: priority, PackageType: 0, SourceVersion: 0 });
      expect(created.PackageID).toMatch(/^PS1[0-9A-F]{5}$/);
      expect(created['@odata.context']).toMatch(/\$metadata#SMS_Package\/\$entity$/);
      expect(created['@odata.etag']).toBe(last().headers.get('etag'));
      ids[name] = created.PackageID;
    }
  });

  it('queries with $filter, $select, $orderby, $top and $count, answered in order', async () => {
    const odata = client();
    const options = odata
      .newOptions()
      .filter("startswith(Name,'Win') and Priority eq 2")
      .select(['Name', 'PackageID', 'Priority'])
      .orderby('Name', 'desc')
      .top(1)
      .count(true);
    const page = await odata.newRequest({ collection: 'SMS_Package', params: options });
    expect(last().status).toBe(200);
    expect(page['@odata.context']).toMatch(/\$metadata#SMS_Package$/);
    expect(page['@odata.count']).toBe(2);
    expect(page.value).toEqual([{ Name: 'Windows tools', PackageID: ids['Windows tools'], Priority: 2 }]);

    // The library's filter builder and EntitySet helpers.
    const packages = odata.getEntitySet<SmsPackage>('SMS_Package');
    const office = await packages.query(
      odata.newFilter().field('Priority').eq(2).field('Name').eqString('Office'),
    );
    expect(office.map((p) => p.PackageID)).toEqual([ids.Office]);
    expect(await packages.count(odata.newFilter().field('Priority').eq(2))).toBe(3);
    const ascending = await packages.query(odata.newOptions().select('Name').orderby('Name', 'asc').skip(1));
    expect(ascending).toEqual([{ Name: 'Windows drivers' }, { Name: 'Windows tools' }, { Name: 'Winzip' }]);
    expect((await packages.find({ Name: 'Winzip' })).map((p) => p.Priority)).toEqual([1]);
  });

  it('gets one entity by key as OData V4 defines it, and as the AdminService does for its scripts', async () => {
    const packages = client().getEntitySet<SmsPackage>('SMS_Package');
    const tools = await packages.retrieve(ids['Windows tools']!);
    expect(last().url).toMatch(/\/SMS_Package\('PS1[0-9A-F]{5}'\)$/);
    expect(tools).toMatchObject({ PackageID: ids['Windows tools'], Name: 'Windows tools', Priority: 2 });
    expect(tools['@odata.context']).toMatch(/\$metadata#SMS_Package\/\$entity$/);
    expect(tools['@odata.etag']).toBe(`W/"${tools.SedoObjectVersion}"`);
    expect(tools['@odata.etag']).toBe(last().headers.get('etag'));
    const named = await packages.retrieve(ids.Office!, client().newOptions().select('Name'));
    expect(named).toEqual({
      '@odata.context': expect.stringMatching(/#SMS_Package\/\$entity$/),
      '@odata.etag': expect.stringMatching(/^W\/"\d+"$/),
      Name: 'Office',
    });
    // Without OData-MaxVersion (how AdminService scripts call), the instance comes in a value array.
    const script = OData.New4({
      serviceEndpoint,
      commonHeaders: { Authorization: `Bearer ${f.tokens.full}` },
      fetchProxy: recording,
    });
    const wrapped = await script
      .getEntitySet<{ readonly value: SmsPackage[] }>('SMS_Package')
      .retrieve(ids['Windows tools']!);
    expect(wrapped.value).toHaveLength(1);
    expect(wrapped.value[0]).toMatchObject({ Name: 'Windows tools' });
  });

  it('updates with PATCH and If-Match from @odata.etag; a stale ETag is refused with 412', async () => {
    const packages = client().getEntitySet<SmsPackage>('SMS_Package');
    const id = ids['Windows drivers']!;
    const before = await packages.retrieve(id);
    const guarded = client({ 'If-Match': before['@odata.etag']! }).getEntitySet<SmsPackage>('SMS_Package');
    await guarded.update(id, { Description: 'drivers for every model' });
    expect(last()).toMatchObject({ method: 'PATCH', status: 200 });
    const after = await packages.retrieve(id);
    expect(after.Description).toBe('drivers for every model');
    expect(after['@odata.etag']).not.toBe(before['@odata.etag']);
    // The same ETag again is stale now: the library throws with our message, the server said 412.
    await expect(guarded.update(id, { Description: 'lost update' })).rejects.toThrow(
      /changed since it was read/,
    );
    expect(last()).toMatchObject({ method: 'PATCH', status: 412 });
    expect((await packages.retrieve(id)).Description).toBe('drivers for every model');
  });

  it('invokes the bound action RefreshPkgSource: ReturnValue 0, SourceVersion bumps once the job runs', async () => {
    const packages = client().getEntitySet<SmsPackage>('SMS_Package');
    const id = ids['Windows tools']!;
    await f.t.drain();
    const before = Number((await packages.retrieve(id)).SourceVersion);
    const answer = await packages.action('AdminService.RefreshPkgSource', id, {});
    expect(last()).toMatchObject({ method: 'POST', status: 201 });
    expect(last().url).toMatch(/\/SMS_Package\('PS1[0-9A-F]{5}'\)\/AdminService\.RefreshPkgSource$/);
    expect(answer).toMatchObject({ ReturnValue: 0, JobID: expect.any(Number), Coalesced: false });
    await f.t.drain();
    const after = await packages.retrieve(id);
    expect(after.SourceVersion).toBe(before + 1);
    expect(after.SourceDate).not.toBeNull();
    // A reader may not run it: the library throws with our message, ReturnValue carries the code.
    const reader = client({}, f.tokens.reader).getEntitySet<SmsPackage>('SMS_Package');
    await expect(reader.action('AdminService.RefreshPkgSource', id, {})).rejects.toThrow(/RefreshPkgSource/);
    expect(last().status).toBe(403);
    expect(last().content).toMatchObject({
      ReturnValue: 0x80041003 | 0,
      error: { name: 'ACCESS_DENIED', message: expect.stringMatching(/RefreshPkgSource/) },
    });
  });

  it('an unknown key is a 404 carrying the AdminService error object', async () => {
    const odata = client();
    await expect(odata.getEntitySet<SmsPackage>('SMS_Package').retrieve('PS1FFFFF')).rejects.toThrow(
      "SMS_Package('PS1FFFFF') does not exist",
    );
    expect(last().status).toBe(404);
    const body = await odata.newRequest({ collection: 'SMS_Package', id: 'PS1FFFFF' });
    expect(last().status).toBe(404);
    expect(body.error).toMatchObject({
      code: '0x80041002',
      message: "SMS_Package('PS1FFFFF') does not exist",
      details: [expect.objectContaining({ ErrorCode: 0x80041002 | 0, ProviderName: 'sitecast' })],
    });
  });

  it('deletes by key: 204, then the key is gone', async () => {
    const packages = client().getEntitySet<SmsPackage>('SMS_Package');
    await packages.delete(ids.Winzip!);
    expect(last()).toMatchObject({ method: 'DELETE', status: 204 });
    await expect(packages.retrieve(ids.Winzip!)).rejects.toThrow(/does not exist/);
    expect(last().status).toBe(404);
  });
});
