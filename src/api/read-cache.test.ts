import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { eachDialect } from '../../test/support/dialects.js';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';
import { ReadCache, type CachedAnswer } from './read-cache.js';

describe('ReadCache', () => {
  /** A stamp the test moves by hand, and a computation that counts its calls. */
  function setup(maxBytes = 10_000, maxEntryBytes?: number) {
    const s = { stamp: 'a', computed: 0, fail: false };
    const cache = new ReadCache(
      () => (s.fail ? Promise.reject(new Error('database gone')) : Promise.resolve(s.stamp)),
      { maxBytes, ...(maxEntryBytes !== undefined && { maxEntryBytes }) },
    );
    const compute = (body: string) => (): Promise<CachedAnswer> => {
      s.computed++;
      return Promise.resolve({ body: Buffer.from(`${body} #${s.computed}`), etag: 'W/"1"' });
    };
    return { s, cache, compute };
  }

  it('answers from the kept text while the stamp is unchanged, and computes again once it moves', async () => {
    const { s, cache, compute } = setup();
    expect((await cache.answer('k', compute('x'))).body.toString()).toBe('x #1');
    expect(await cache.answer('k', compute('x'))).toEqual({ body: Buffer.from('x #1'), etag: 'W/"1"' });
    s.stamp = 'b';
    expect((await cache.answer('k', compute('x'))).body.toString()).toBe('x #2');
    expect((await cache.answer('k', compute('x'))).body.toString()).toBe('x #2');
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 2, entries: 1 });
  });

  it('keeps different keys apart', async () => {
    const { cache, compute } = setup();
    expect((await cache.answer('k1', compute('one'))).body.toString()).toBe('one #1');
    expect((await cache.answer('k2', compute('two'))).body.toString()).toBe('two #2');
    expect((await cache.answer('k1', compute('one'))).body.toString()).toBe('one #1');
  });

  it('never keeps a failure', async () => {
    const { s, cache, compute } = setup();
    const failing = (): Promise<CachedAnswer> => {
      s.computed++;
      return Promise.reject(new Error('not found'));
    };
    await expect(cache.answer('k', failing)).rejects.toThrow('not found');
    await expect(cache.answer('k', failing)).rejects.toThrow('not found');
    expect((await cache.answer('k', compute('x'))).body.toString()).toBe('x #3');
  });

  it('computes (and keeps nothing) when the database cannot give a stamp', async () => {
    const { s, cache, compute } = setup();
    s.fail = true;
    expect((await cache.answer('k', compute('x'))).body.toString()).toBe('x #1');
    expect((await cache.answer('k', compute('x'))).body.toString()).toBe('x #2');
    expect(cache.stats().entries).toBe(0);
  });

  it('shares one computation among concurrent misses at the same stamp', async () => {
    const { s, cache } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = async (): Promise<CachedAnswer> => {
      s.computed++;
      await gate;
      return { body: Buffer.from('slow') };
    };
    const answers = Array.from({ length: 5 }, () => cache.answer('k', slow));
    await new Promise((resolve) => setImmediate(resolve));
    release();
    expect((await Promise.all(answers)).map((a) => a.body.toString())).toEqual(Array(5).fill('slow'));
    expect(s.computed).toBe(1);
  });

  it('stays within its byte budget, least recently used out first, and skips answers too large to keep', async () => {
    // Each entry: body + 2 × (key + etag) + 100 bytes = 200 + 2 × (2 + 6) + 100 = 316.
    const { s, cache } = setup(1000, 400);
    const body = (n: number) => (): Promise<CachedAnswer> => {
      s.computed++;
      return Promise.resolve({ body: Buffer.from(String(n).padEnd(200, '.')), etag: 'W/"1"' });
    };
    for (const k of ['k1', 'k2', 'k3']) await cache.answer(k, body(1));
    await cache.answer('k1', body(1)); // k1 is now the most recent; k2 the least
    await cache.answer('k4', body(1)); // 4 × 316 > 1000: k2 goes
    expect(cache.stats().bytes).toBeLessThanOrEqual(1000);
    const before = s.computed;
    await cache.answer('k1', body(1));
    expect(s.computed).toBe(before);
    await cache.answer('k2', body(1));
    expect(s.computed).toBe(before + 1);
    const big = (): Promise<CachedAnswer> => {
      s.computed++;
      return Promise.resolve({ body: Buffer.from('x'.repeat(500)) });
    };
    await cache.answer('big', big);
    await cache.answer('big', big);
    expect(s.computed).toBe(before + 3);
  });

  it('with size 0 computes every time', async () => {
    const { s, cache, compute } = setup(0);
    await cache.answer('k', compute('x'));
    await cache.answer('k', compute('x'));
    expect(s.computed).toBe(2);
  });

  it('refuses a negative size', () => {
    expect(() => new ReadCache(() => Promise.resolve(''), { maxBytes: -1 })).toThrow(/≥ 0/);
  });
});

eachDialect('AdminService reads through the cache', (dialect) => {
  const wmi = '/AdminService/wmi';
  let f: ApiFixture;
  let pkg: string;
  beforeAll(async () => {
    f = await createApiFixture(dialect);
    const created = await f.call('POST', `${wmi}/SMS_Package`, {
      body: { Name: 'Office', PkgSourcePath: f.folderSource('o') },
    });
    pkg = (created.json as { PackageID: string }).PackageID;
  });
  afterAll(() => f?.close());

  const name = async (url: string, headers?: Record<string, string>): Promise<unknown> => {
    const r = await f.call('GET', url, headers ? { headers } : {});
    expect(r.status).toBe(200);
    const json = r.json as { value?: [{ Name: unknown }]; Name?: unknown };
    return json.value ? json.value[0].Name : json.Name;
  };

  it('shows a change made through the API at once, and one made by another process', async () => {
    const one = `${wmi}/SMS_Package('${pkg}')`;
    const list = `${wmi}/SMS_Package?$filter=PackageID eq '${pkg}'&$select=Name`;
    const v4 = { 'OData-MaxVersion': '4.0' };
    for (let i = 0; i < 3; i++) {
      expect(await name(one)).toBe('Office');
      expect(await name(list)).toBe('Office');
      expect(await name(one, v4)).toBe('Office');
    }
    const etag1 = (await f.call('GET', one)).headers.etag;
    const patched = await f.call('PATCH', one, { body: { Name: 'Office 2024' } });
    expect(patched.status).toBe(200);
    expect(await name(one)).toBe('Office 2024');
    expect(await name(list)).toBe('Office 2024');
    expect(await name(one, v4)).toBe('Office 2024');
    expect((await f.call('GET', one)).headers.etag).not.toBe(etag1);

    // A CLI command on the same database (another connection; for SQLite another process's commit).
    const other = await openDatabase(f.t.database.url);
    try {
      await other.db
        .updateTable('package')
        .set({ name: 'Office LTSC' })
        .where('package_id', '=', pkg)
        .execute();
    } finally {
      await other.close();
    }
    expect(await name(one)).toBe('Office LTSC');
    expect(await name(list)).toBe('Office LTSC');
    expect(await name(one, v4)).toBe('Office LTSC');
  });

  it('keeps the two single-GET shapes apart and counts hits in /metrics', async () => {
    const one = `${wmi}/SMS_Package('${pkg}')`;
    const legacy = await f.call('GET', one);
    const v4 = await f.call('GET', one, { headers: { 'OData-MaxVersion': '4.0' } });
    expect(legacy.json).toHaveProperty('value');
    expect(v4.json).not.toHaveProperty('value');
    expect(v4.json).toHaveProperty('@odata.etag', legacy.headers.etag);
    expect(legacy.headers['content-type']).toBe('application/json; charset=utf-8');
    const metrics = (await f.call('GET', '/metrics', { token: null })).text;
    const hits = Number(/sitecast_api_read_cache_requests_total\{result="hit"\} (\d+)/.exec(metrics)?.[1]);
    expect(hits).toBeGreaterThan(0);
  });

  it('still checks the caller on every read, cached or not', async () => {
    const one = `${wmi}/SMS_Package('${pkg}')`;
    expect((await f.call('GET', one)).status).toBe(200);
    expect((await f.call('GET', one, { token: null })).status).toBe(401);
    expect((await f.call('GET', one, { token: 'sct_forged' })).status).toBe(401);
    const tokens = `${wmi}/SMS_AdminToken`;
    expect((await f.call('GET', tokens)).status).toBe(200);
    expect((await f.call('GET', tokens, { token: f.tokens.reader })).status).toBe(403);
  });
});
