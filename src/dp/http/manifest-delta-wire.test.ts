/**
 * A new version's manifest travels to a DP agent as a delta against the manifest the DP presents (design
 * §3): counted on the wire through a TCP proxy, and falling back to the whole manifest when the DP holds
 * another version than the site thought.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FaultProxy } from '../../../test/support/fault-proxy.js';
import { createDpAgent, type DpAgent } from '../agent/index.js';
import {
  buildVersion,
  chunksOf,
  randomFile,
  type BuiltVersion,
} from '../local-folder/package-builder.test-helpers.js';
import { HttpDpAdapter } from './http-dp-adapter.js';

const SECRET = 'delta-wire-test-secret-0123456789abcdef';
const PKG = 'PS100001';
const chunk = 4096;
// 2,000 chunks: a whole manifest is ~190 KB of JSON.
const wim = randomFile(2000 * chunk);
const v1 = buildVersion(PKG, 1, [{ path: 'sources/install.wim', bytes: wim }]);
const v2wim = Buffer.from(wim);
v2wim.fill(7, 500 * chunk, 500 * chunk + 100);
const v2 = buildVersion(PKG, 2, [
  { path: 'sources/install.wim', bytes: v2wim },
  { path: 'readme.txt', bytes: Buffer.from('v2\n') },
]);
const v3wim = Buffer.from(v2wim);
v3wim.fill(9, 1500 * chunk, 1500 * chunk + 100);
const v3 = buildVersion(PKG, 3, [{ path: 'sources/install.wim', bytes: v3wim }]);

let dir: string;
let agent: DpAgent | undefined;
let proxy: FaultProxy | undefined;
let dp: HttpDpAdapter;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sitecast-delta-wire-'));
  agent = await createDpAgent({ dir: join(dir, 'dp'), secret: SECRET });
  const url = new URL(await agent.listen({ port: 0 }));
  proxy = await FaultProxy.start({ port: Number(url.port) });
  dp = new HttpDpAdapter({ url: proxy.url, secret: SECRET });
});
afterEach(async () => {
  await proxy?.close();
  await agent?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Bytes the site sent to activate `next` (after its chunks landed), with `base` as the site's idea of the DP. */
async function activateBytes(next: BuiltVersion, base: BuiltVersion | null): Promise<number> {
  await dp.putChunks(PKG, chunksOf(next, await dp.missingChunks(PKG, next.ids)));
  const before = proxy!.stats.bytesUp;
  await dp.activate(PKG, next.version, next.manifestId, next.manifestBytes, {
    seedFromExisting: true,
    ...(base && { base: { manifestId: base.manifestId, manifest: base.manifest } }),
  });
  return proxy!.stats.bytesUp - before;
}

async function presented(path: string): Promise<Buffer> {
  return readFile(join(dir, 'dp', PKG, path));
}

it('sends a small delta instead of the whole manifest, and the DP presents the new version', async () => {
  const full = await activateBytes(v1, null);
  expect(full).toBeGreaterThan(v1.manifestBytes.length);
  const delta = await activateBytes(v2, v1);
  expect(v2.manifestBytes.length).toBeGreaterThan(150_000);
  expect(delta).toBeLessThan(5_000); // request headers + a few hundred bytes of delta
  expect(await dp.packageState(PKG)).toEqual({ version: 2, manifestId: v2.manifestId });
  expect((await presented('sources/install.wim')).equals(v2wim)).toBe(true);
  expect((await presented('readme.txt')).toString()).toBe('v2\n');
  expect((await dp.verify(PKG)).badChunks).toEqual([]);
});

it('falls back to the whole manifest when the DP holds another version than the base', async () => {
  await activateBytes(v1, null);
  await activateBytes(v2, v1);
  // The site believes the DP still presents v1: the delta is refused as stale and the whole manifest sent.
  const sent = await activateBytes(v3, v1);
  expect(sent).toBeGreaterThan(v3.manifestBytes.length);
  expect(await dp.packageState(PKG)).toEqual({ version: 3, manifestId: v3.manifestId });
  expect((await presented('sources/install.wim')).equals(v3wim)).toBe(true);
});

it('falls back to the whole manifest for a DP that has no version yet', async () => {
  const sent = await activateBytes(v2, v1);
  expect(sent).toBeGreaterThan(v2.manifestBytes.length);
  expect(await dp.packageState(PKG)).toEqual({ version: 2, manifestId: v2.manifestId });
});
