import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMtime, randomFile } from '../local-folder/package-builder.test-helpers.js';
import { contentFixture, parseByteranges, type ContentFixture } from './content-fixture.test-helpers.js';
import { listingHtml } from './content-listing.js';
import { contentRoutes } from './content-routes.js';

const PKG = 'ABC00001';
const wim = randomFile(10_000);
const readme = Buffer.from('read me\r\n');
const odd = Buffer.from('odd name');

let fx: ContentFixture;
let app: FastifyInstance;

beforeAll(async () => {
  fx = await contentFixture();
  await fx.publish(
    PKG,
    1,
    [
      { path: 'boot/boot.wim', bytes: wim },
      { path: 'readme.txt', bytes: readme },
      { path: 'Config.XML', bytes: Buffer.from('<a/>') },
      { path: "sub dir/a&b 'c' #1 %41.bin", bytes: odd },
      { path: 'empty.bin', bytes: Buffer.alloc(0) },
    ],
    ['nothing here'],
  );
  // Two seconds ahead: the files published just now are past their arrival second (see lastModified).
  app = await fx.app(undefined, { now: () => Date.now() + 2000 });
});
afterAll(() => fx.close());

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers });
const wimUrl = `/content/${PKG}/boot/boot.wim`;
/** When boot.wim came to be in this version on this DP: its Last-Modified. */
const arrivedMs = async (): Promise<number> => {
  const s = await stat(join(fx.store.root, PKG, 'boot/boot.wim'));
  return Math.max(s.mtimeMs, s.ctimeMs);
};

describe('whole files', () => {
  it('serves the bytes with length, type, validators and range support', async () => {
    const res = await get(wimUrl);
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(wim)).toBe(true);
    expect(res.headers['content-length']).toBe(String(wim.length));
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['last-modified']).toBe(new Date(await arrivedMs()).toUTCString());
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{16}-[0-9a-f]{24}"$/);
  });

  it('names text types and matches the package id case-insensitively', async () => {
    expect((await get(`/content/${PKG}/readme.txt`)).headers['content-type']).toBe('text/plain');
    expect((await get(`/content/${PKG}/Config.XML`)).headers['content-type']).toBe('application/xml');
    const lower = await get(`/content/abc00001/readme.txt`);
    expect(lower.statusCode).toBe(200);
    expect(lower.rawPayload.equals(readme)).toBe(true);
  });

  it('serves an empty file, ignoring Range on it', async () => {
    const res = await get(`/content/${PKG}/empty.bin`, { range: 'bytes=0-10' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('0');
    expect(res.rawPayload.length).toBe(0);
  });

  it('HEAD has the same headers as GET and no body, and ignores Range', async () => {
    const full = await get(wimUrl);
    const head = await app.inject({ method: 'HEAD', url: wimUrl, headers: { range: 'bytes=0-9' } });
    expect(head.statusCode).toBe(200);
    expect(head.rawPayload.length).toBe(0);
    const strip = (h: Record<string, unknown>) => ({ ...h, date: undefined });
    expect(strip(head.headers)).toEqual(strip(full.headers));
  });
});

describe('conditional requests', () => {
  it('answers 304 to If-None-Match with the current ETag (weak or strong), 200 otherwise', async () => {
    const { etag } = (await get(wimUrl)).headers as { etag: string };
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get(wimUrl, { 'if-none-match': inm });
      expect(res.statusCode, inm).toBe(304);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
    }
    expect((await get(wimUrl, { 'if-none-match': '"other"' })).statusCode).toBe(200);
  });

  it('fails If-Match with another tag (412), passes it with this one', async () => {
    const { etag } = (await get(wimUrl)).headers as { etag: string };
    expect((await get(wimUrl, { 'if-match': '"other"' })).statusCode).toBe(412);
    expect((await get(wimUrl, { 'if-match': etag })).statusCode).toBe(200);
  });

  it('If-Modified-Since: 304 for the Last-Modified sent or later, 200 for a date before the file arrived', async () => {
    const sent = String((await get(wimUrl)).headers['last-modified']);
    // What curl -z, wget -N and browsers send back: the date they were given.
    expect((await get(wimUrl, { 'if-modified-since': sent })).statusCode).toBe(304);
    expect(
      (await get(wimUrl, { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() })).statusCode,
    ).toBe(304);
    const before = new Date(Date.parse(sent) - 1000).toUTCString();
    expect((await get(wimUrl, { 'if-modified-since': before })).statusCode).toBe(200);
    // The source file's own mtime is older than this version's copy.
    expect(
      (await get(wimUrl, { 'if-modified-since': new Date(defaultMtime).toUTCString() })).statusCode,
    ).toBe(200);
  });

  it('sends no Last-Modified for a file younger than the current second: a same-second version could share it', async () => {
    const arrived = await arrivedMs();
    const fresh = await fx.app(undefined, { now: () => arrived });
    const res = await fresh.inject({ method: 'GET', url: wimUrl });
    expect(res.statusCode).toBe(200);
    expect(res.headers['last-modified']).toBeUndefined();
    const etag = String(res.headers.etag);
    expect(
      (await fresh.inject({ method: 'GET', url: wimUrl, headers: { 'if-none-match': etag } })).statusCode,
    ).toBe(304);
    const later = await fx.app(undefined, { now: () => arrived + 1000 });
    const dated = await later.inject({ method: 'GET', url: wimUrl });
    expect(dated.headers['last-modified']).toBe(new Date(arrived).toUTCString());
  });
});

describe('ranges', () => {
  const size = wim.length;
  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=100-', 100, size - 1],
    ['bytes=-500', size - 500, size - 1],
    ['bytes=9990-20000', 9990, size - 1],
    ['bytes=-20000', 0, size - 1],
    ['BYTES = 5-5', 5, 5],
  ])('%s → 206 with that part', async (range, start, end) => {
    const res = await get(wimUrl, { range });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.rawPayload.equals(wim.subarray(start, end + 1))).toBe(true);
  });

  it.each(['bytes=10000-', 'bytes=20000-30000', 'bytes=-0', 'bytes=10000-,20000-'])(
    '%s → 416',
    async (range) => {
      const res = await get(wimUrl, { range });
      expect(res.statusCode).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${size}`);
      expect(res.json()).toMatchObject({ error: { code: '0x80041008', details: { field: 'range' } } });
    },
  );

  it.each([
    'bytes=abc',
    'bytes=5-1',
    'items=0-1',
    'bytes=',
    'bytes=1-2;3',
    'bytes 0-1',
    'bytes=--1',
    'bytes=0x1-2',
  ])('ignores the malformed %j (full 200)', async (range) => {
    const res = await get(wimUrl, { range });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(wim)).toBe(true);
  });

  it('ignores more than 64 parts (full 200)', async () => {
    const range = 'bytes=' + Array.from({ length: 65 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    expect((await get(wimUrl, { range })).statusCode).toBe(200);
  });

  it('serves several parts as multipart/byteranges, dropping unsatisfiable ones', async () => {
    const res = await get(wimUrl, { range: 'bytes=0-9, 50-59,,-5, 20000-' });
    expect(res.statusCode).toBe(206);
    const parts = parseByteranges(String(res.headers['content-type']), res.rawPayload);
    expect(res.headers['content-length']).toBe(String(res.rawPayload.length));
    expect(parts.map((p) => p.contentRange)).toEqual([
      `bytes 0-9/${size}`,
      `bytes 50-59/${size}`,
      `bytes ${size - 5}-${size - 1}/${size}`,
    ]);
    expect(parts.every((p) => p.contentType === 'application/octet-stream')).toBe(true);
    expect(parts[1]!.bytes.equals(wim.subarray(50, 60))).toBe(true);
    expect(parts[2]!.bytes.equals(wim.subarray(size - 5))).toBe(true);
  });

  it('merges overlapping parts so a client cannot multiply the bytes sent', async () => {
    const res = await get(wimUrl, { range: 'bytes=0-,0-,0-99' });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-${size - 1}/${size}`);
    expect(res.rawPayload.length).toBe(size);
  });

  it('honours If-Range only with the current strong ETag; otherwise the whole file', async () => {
    const { headers } = await get(wimUrl);
    const etag = String(headers.etag);
    expect((await get(wimUrl, { range: 'bytes=0-9', 'if-range': etag })).statusCode).toBe(206);
    for (const ifRange of ['"stale"', `W/${etag}`, String(headers['last-modified'])]) {
      const res = await get(wimUrl, { range: 'bytes=0-9', 'if-range': ifRange });
      expect(res.statusCode, ifRange).toBe(200);
      expect(res.rawPayload.equals(wim)).toBe(true);
    }
  });
});

describe('directories', () => {
  it('redirects a directory named without its slash, keeping the query', async () => {
    const root = await get(`/content/${PKG}`);
    expect(root.statusCode).toBe(301);
    expect(root.headers.location).toBe(`/content/${PKG}/`);
    const sub = await get(`/content/${PKG}/sub%20dir?x=1`);
    expect(sub.statusCode).toBe(301);
    expect(sub.headers.location).toBe(`/content/${PKG}/sub%20dir/?x=1`);
  });

  it('lists a directory as JSON: directories first, sizes and mtimes', async () => {
    const res = await get(`/content/${PKG}/`, { accept: 'application/json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const listing = res.json<{
      path: string;
      version: number;
      entries: { name: string; type: string; size: number; mtime: number }[];
    }>();
    expect(listing.path).toBe('/');
    expect(listing.version).toBe(1);
    expect(listing.entries.map((e) => `${e.type}:${e.name}`)).toEqual([
      'directory:boot',
      'directory:nothing here',
      'directory:sub dir',
      'file:Config.XML',
      'file:empty.bin',
      'file:readme.txt',
    ]);
    expect(listing.entries.find((e) => e.name === 'readme.txt')).toMatchObject({
      size: readme.length,
      mtime: defaultMtime,
    });
    const sub = (await get(`/content/${PKG}/boot/`, { accept: 'application/json' })).json<{ path: string }>();
    expect(sub.path).toBe('/boot/');
  });

  it('lists as HTML with names escaped and links encoded', async () => {
    const res = await get(`/content/${PKG}/sub%20dir/`);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain(
      '<a href="a%26b%20&#39;c&#39;%20%231%20%2541.bin">a&#38;b &#39;c&#39; #1 %41.bin</a>',
    );
    expect(res.body).toContain('<a href="../">');
    const linked = await get(`/content/${PKG}/sub%20dir/a%26b%20'c'%20%231%20%2541.bin`);
    expect(linked.rawPayload.equals(odd)).toBe(true);
  });

  it('escapes markup in names and titles', () => {
    const html = listingHtml(
      {
        packageId: PKG,
        version: 1,
        manifestId: 'f'.repeat(64),
        path: '/<b>/',
        entries: [{ name: '<script>x</script>', type: 'file', size: 1, mtime: 0 }],
      },
      '/content',
    );
    expect(html).not.toMatch(/<(script|b)>/);
    expect(html).toContain('href="%3Cscript%3Ex%3C%2Fscript%3E"');
    expect(html).toContain('&#60;script&#62;x&#60;/script&#62;');
  });

  it('answers 404 for a file asked for as a directory', async () => {
    expect((await get(`/content/${PKG}/readme.txt/`)).statusCode).toBe(404);
  });
});

describe('what is refused', () => {
  it('unknown package → 404 naming it; a malformed id → 400', async () => {
    const unknown = await get('/content/ABC0000F/readme.txt');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({
      error: { code: '0x80041002', details: { packageId: 'ABC0000F' } },
    });
    expect(unknown.json<{ error: { message: string } }>().error.message).toContain('ABC0000F');
    const bad = await get('/content/ABC0001/readme.txt');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { details: { field: 'packageId' } } });
  });

  it('missing file → 404 naming the path', async () => {
    const res = await get(`/content/${PKG}/boot/nope.wim`);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { details: { path: `${PKG}/boot/nope.wim` } } });
  });

  // `..` and `%2e%2e` are normalised away by inject's URL parser: the socket tests send those raw.
  it.each(['boot%2Fboot.wim', 'boot%2f..%2f..%2fetc', 'boot%5Cboot.wim', 'read%00me.txt', 'a%0Ab'])(
    'encoded separator or control %s → 400 naming the path',
    async (rest) => {
      const res = await get(`/content/${PKG}/${rest}`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        error: { code: '0x80041008', details: { field: 'path', path: `${PKG}/${rest}` } },
      });
    },
  );

  it('a malformed percent-encoding is refused (by the router) with 400', async () => {
    expect((await get(`/content/${PKG}/%ZZ`)).statusCode).toBe(400);
  });
});

describe('versions and tokens', () => {
  it('a new version gives a new ETag and the new bytes; the old ETag no longer validates', async () => {
    const PKG2 = 'ABC00002';
    await fx.publish(PKG2, 1, [{ path: 'f.bin', bytes: Buffer.from('version one') }]);
    const url = `/content/${PKG2}/f.bin`;
    const one = await get(url);
    await fx.publish(PKG2, 2, [{ path: 'f.bin', bytes: Buffer.from('version two') }]);
    const two = await get(url);
    expect(two.body).toBe('version two');
    expect(two.headers.etag).not.toBe(one.headers.etag);
    expect((await get(url, { 'if-none-match': String(one.headers.etag) })).statusCode).toBe(200);
    expect((await get(url, { range: 'bytes=0-1', 'if-range': String(one.headers.etag) })).body).toBe(
      'version two',
    );
    expect((await get(url, { range: 'bytes=0-1', 'if-range': String(two.headers.etag) })).body).toBe('ve');
  });

  it('with a token: 401 without it or with a wrong one, 200 with it', async () => {
    const guarded = await fx.app('s3cret-token');
    const none = await guarded.inject({ url: wimUrl });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.json()).toMatchObject({ error: { details: { field: 'authorization' } } });
    for (const authorization of ['Bearer s3cret-tokeN', 'Bearer s3cret', 'Basic s3cret-token', 'Bearer ']) {
      expect(
        (await guarded.inject({ url: wimUrl, headers: { authorization } })).statusCode,
        authorization,
      ).toBe(401);
    }
    const ok = await guarded.inject({ url: wimUrl, headers: { authorization: 'Bearer s3cret-token' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.rawPayload.equals(wim)).toBe(true);
    expect((await get(wimUrl)).statusCode).toBe(200); // anonymous where no token is set
  });

  it('refuses an empty token at registration', async () => {
    const bare = Fastify();
    await expect(
      bare.register(contentRoutes, { prefix: '/content', token: '', resolve: () => Promise.resolve(null) }),
    ).rejects.toThrow(/token must not be empty/);
    await bare.close();
  });
});
