/**
 * Thousands of malformed requests against the AdminService (bad JSON, huge bodies, odd encodings, bogus
 * OData, unknown classes and methods, wrong types): every answer is a 4xx with the error JSON, never a 5xx
 * or a crash, and memory stays bounded. Replay a failure with FUZZ_SEED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roles } from '../auth/index.js';
import { seededRandom, type SeededRandom } from '../../test/support/seeded-random.js';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';

const REQUESTS = 3000;
const wmi = '/AdminService/wmi';

const classes = [
  'SMS_Package',
  'SMS_ImagePackage',
  'SMS_DistributionPoint',
  'SMS_DistributionPointInfo',
  'SMS_DistributionPointGroup',
  'SMS_PackageStatusDistPointsSummarizer',
  'SMS_ObjectContentExtraInfo',
  'SMS_ImageInformation',
  'SMS_ScheduleMethods',
  'SMS_AdminToken',
  'SMS_NoSuchClass',
  'sms_package',
  '',
];
const methods = [
  'RefreshPkgSource',
  'AddDistributionPoints',
  'GetImageProperties',
  'VerifyPackage',
  'ReadFromString',
  'Nope',
];
const junk = [
  "'",
  "''",
  '(',
  ')',
  '%ZZ',
  '%00',
  '%C0%AF',
  '%2e%2e%2f',
  '\u202e',
  '😀',
  ' or 1=1 --',
  "x') or ('1'='1",
  '9'.repeat(400),
  'a'.repeat(5000),
  '$',
  '/',
  '\\',
  'null',
  'true',
  '1e309',
  '-0',
];
const filterAtoms = [
  'Name',
  'PackageID',
  'SourceVersion',
  'eq',
  'ne',
  'gt',
  'and',
  'or',
  'not',
  'in',
  '(',
  ')',
  ',',
  "'x'",
  "'O''Brien'",
  '42',
  '-1.5e3',
  'true',
  'null',
  '2026-01-01T00:00:00Z',
  'startswith(',
  'contains(Name,',
  'tolower(',
  '$it',
  '@p',
  '"dq"',
  '[',
  ']',
];

function pick<T>(r: SeededRandom, list: readonly T[]): T {
  return list[r.int(0, list.length - 1)]!;
}

function junkText(r: SeededRandom): string {
  return Array.from({ length: r.int(1, 4) }, () => pick(r, junk)).join('');
}

function filterText(r: SeededRandom): string {
  if (r.next() < 0.05) return '('.repeat(r.int(50, 3000)) + 'Name eq 1';
  return Array.from({ length: r.int(1, 12) }, () => pick(r, filterAtoms)).join(r.next() < 0.8 ? ' ' : '');
}

function queryString(r: SeededRandom): string {
  const options = [
    '$filter',
    '$select',
    '$orderby',
    '$top',
    '$skip',
    '$count',
    '$expand',
    '$format',
    'x',
    '$FILTER',
  ];
  const parts: string[] = [];
  for (let i = r.int(0, 3); i > 0; i--) {
    const key = pick(r, options);
    const value =
      key === '$filter' ? filterText(r) : r.next() < 0.5 ? junkText(r) : String(r.int(-5, 20_000));
    parts.push(`${encodeURIComponent(key)}=${r.next() < 0.8 ? encodeURIComponent(value) : value}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

function path(r: SeededRandom): string {
  const cls = pick(r, classes);
  const key = r.next() < 0.5 ? `('${junkText(r)}')` : r.next() < 0.5 ? `(${r.int(-3, 99)})` : '';
  const method = r.next() < 0.3 ? `${key ? '/AdminService.' : '.'}${pick(r, methods)}` : '';
  const tail = r.next() < 0.05 ? `/${junkText(r)}` : '';
  const raw = `${wmi}/${cls}${key}${method}${tail}`;
  // Mostly what a client would send; sometimes raw bytes the router must cope with.
  return r.next() < 0.7 ? encodeURI(raw).replace(/%25/g, '%') : raw;
}

function body(r: SeededRandom): { payload?: string | Buffer; type?: string } {
  const x = r.next();
  if (x < 0.2) return {};
  if (x < 0.35) return { payload: '{"Name": ', type: 'application/json' };
  if (x < 0.45) return { payload: JSON.stringify(junkText(r)), type: 'application/json' };
  if (x < 0.55) {
    const deep = '['.repeat(r.int(100, 5000)) + ']'.repeat(r.int(0, 5000));
    return { payload: deep, type: 'application/json' };
  }
  if (x < 0.6) return { payload: Buffer.alloc(2 * 1024 * 1024, 0x7b), type: 'application/json' };
  if (x < 0.65) return { payload: Buffer.from([0xff, 0xfe, 0x00, 0x01]), type: 'application/octet-stream' };
  if (x < 0.7) return { payload: 'Name=x', type: 'application/x-www-form-urlencoded' };
  const props = [
    'Name',
    'PkgSourcePath',
    'Priority',
    'SourceVersion',
    'RefreshSchedule',
    'NALPath',
    'Nope',
    '__proto__',
  ];
  const values: unknown[] = [null, 1, -1, 2 ** 53, 'x', junkText(r), [], {}, [1, 'a'], { a: { b: 1 } }, true];
  const doc: Record<string, unknown> = {};
  for (let i = r.int(0, 4); i > 0; i--) doc[pick(r, props)] = pick(r, values);
  return {
    payload: JSON.stringify(doc),
    type: pick(r, ['application/json', 'application/json; charset=latin1', 'text/plain']),
  };
}

describe('AdminService fuzz', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await createApiFixture();
  });
  afterAll(() => f?.close());

  it(
    `answers ${REQUESTS} malformed requests with 4xx JSON errors, no 5xx, memory bounded`,
    { timeout: 300_000 },
    async () => {
      const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
      const r = seededRandom(seed);
      const methodsHttp = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'] as const;
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const statuses = new Map<number, number>();
      // A DELETE of SMS_AdminToken(n) may revoke the fuzzer's own token (ids 1-3 belong to the fixture): that
      // is correct behaviour, so the fuzzer then takes a fresh Full Administrator token and goes on.
      let bearer = f.tokens.full;
      for (let i = 0; i < REQUESTS; i++) {
        const method = pick(r, methodsHttp);
        const url = path(r) + queryString(r);
        const b = method === 'GET' || method === 'DELETE' ? {} : body(r);
        const res = await f.app.inject({
          method,
          url,
          headers: {
            authorization: `Bearer ${r.next() < 0.05 ? 'sct_forged' : bearer}`,
            ...(b.type && { 'content-type': b.type }),
          },
          ...(b.payload !== undefined && { payload: b.payload }),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const what = `seed ${seed} request ${i}: ${method} ${url.slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, what).toBeLessThan(500);
        if (res.statusCode >= 400) {
          const json = JSON.parse(res.body) as { error?: { code?: string; message?: string } };
          expect(json.error?.message, what).toBeTruthy();
        }
        if (method === 'DELETE' && /admintoken/i.test(url) && res.statusCode < 300) {
          bearer = (await f.t.site.tokens.create({ name: `fuzz-${i}`, role: Roles.FullAdministrator })).token;
        }
      }
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      console.log(
        `api fuzz seed ${seed}: ${[...statuses]
          .sort((a, b) => a[0] - b[0])
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}; heap +${(heapGrowth / 1e6).toFixed(1)} MB`,
      );
      expect(heapGrowth).toBeLessThan(200e6);
      // Still serving normally afterwards.
      const ok = await f.call('GET', `${wmi}/SMS_Package?$top=1`, { token: bearer });
      expect(ok.status).toBe(200);
    },
  );
});
