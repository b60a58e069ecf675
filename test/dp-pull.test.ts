/**
 * A pull DP end to end, each DP its own `sitecast dp serve` process: DP05 gets content pushed by the site
 * (through a fault-injecting proxy), DP06 is a pull DP whose sources are DP05 (rank 1, through the proxy)
 * and the site (rank 2, `siteChunkRoutes` on a fastify instance over the site's content library). DP06
 * must end byte-identical on each version while connections to DP05 are cut, fetch each chunk once, serve
 * clients only the old or the new version (never a mix) while it pulls, and repair itself from its
 * sources after its tree is damaged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PackageType } from '../src/catalog/index.js';
import { DpState } from '../src/distribution/index.js';
import { siteChunkRoutes, siteGrantVerifier } from '../src/dp/index.js';
import { systemClock } from '../src/kernel/index.js';
import { killAllAgents, startAgent, type AgentProcess } from './support/agent-process.js';
import { FaultProxy, type Fault } from './support/fault-proxy.js';
import { settle } from './support/settle.js';
import { createTestSite, type TestSite } from './support/site-fixture.js';

const MiB = 1024 * 1024;
let t: TestSite;
let source: AgentProcess;
let puller: AgentProcess;
let proxy: FaultProxy;
let siteServer: FastifyInstance;
let siteServed = 0;
let packageId: string;
const src = (): string => join(t.dir, 'src');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  t = await createTestSite('sqlite');
  [source, puller] = await Promise.all([
    startAgent(join(t.dir, 'dp05'), 'source-agent-secret-0123456789abcdef'),
    startAgent(join(t.dir, 'dp06'), 'pull-agent-secret-0123456789abcdef'),
  ]);
  proxy = await FaultProxy.start({ port: source.port });
  siteServer = Fastify({ forceCloseConnections: true });
  await siteServer.register(siteChunkRoutes, {
    getChunk: (id) => t.site.library.chunks.get(id).catch(() => null),
    verifyGrant: siteGrantVerifier({
      secretOf: async (name) => {
        const dp = await t.site.dps.get(name).catch(() => null);
        return dp?.isPull && dp.config.kind === 'http' ? dp.config.secret : null;
      },
      clock: systemClock,
    }),
    onServed: () => void siteServed++,
  });
  const siteUrl = await siteServer.listen({ port: 0, host: '127.0.0.1' });
  await t.site.dps.addHttp({ name: 'DP05', url: proxy.url, secret: source.secret });
  await t.site.dps.addHttp({
    name: 'DP06',
    url: puller.url,
    secret: puller.secret,
    pull: {
      sources: [
        { dp: 'DP05', rank: 1 },
        { dp: 'site', rank: 2 },
      ],
      siteUrl,
    },
  });
  // The pull DP paces its own fetches: long enough for the faults and the client reads to overlap it.
  await t.site.dpSettings.setBandwidth('DP06', { rateLimit: '3MB/s' });
  mkdirSync(src());
  writeFileSync(join(src(), 'file0.bin'), randomBytes(4 * MiB));
  writeFileSync(join(src(), 'file1.bin'), randomBytes(1 * MiB));
  const pkg = await t.site.packages.create(PackageType.SMS_Package, { Name: 'pulled', PkgSourcePath: src() });
  packageId = pkg.packageId;
}, 60_000);

afterAll(async () => {
  await killAllAgents();
  await proxy?.close();
  await siteServer?.close();
  await t?.close();
});

const faults: Fault[] = [
  { kind: 'reset', direction: 'down', afterBytes: 20_000 },
  { kind: 'truncate', direction: 'down', afterBytes: 30_000 },
  { kind: 'delay', ms: 30 },
  { kind: 'refuse' },
].flatMap((f): Fault[] => [f as Fault, { kind: 'none' }]);

/** Switches the proxy's fault every 150 ms until the returned stop() is called. */
function faultsOn(): () => Promise<void> {
  let stop = false;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      proxy.setFault(faults[i % faults.length]!);
      await new Promise((r) => setTimeout(r, 150));
    }
    proxy.setFault({ kind: 'none' });
  })();
  return async () => {
    stop = true;
    await loop;
  };
}

function expectTree(dir: string): void {
  for (const name of ['file0.bin', 'file1.bin']) {
    expect(readFileSync(join(dir, packageId, name)).equals(readFileSync(join(src(), name))), name).toBe(true);
  }
}

it('a pull DP pulls v1 from a source agent through a faulty link (the site as fallback), each chunk once', async () => {
  await t.site.distribution.addDistributionPoints(packageId, ['DP05']);
  expect(await settle(t, packageId, 'DP05', 1)).toMatchObject({ State: DpState.INSTALLED });
  await t.site.distribution.addDistributionPoints(packageId, ['DP06']);
  const stop = faultsOn();
  const log: string[] = [];
  let row;
  try {
    row = await settle(t, packageId, 'DP06', 1, { log });
  } finally {
    await stop();
  }
  expect(row, log.join('\n')).toMatchObject({ State: DpState.INSTALLED, SourceVersion: 1 });
  expectTree(puller.dir);
  const stats = await puller.adapter().stats();
  const served = (await source.adapter().stats()).served.chunks;
  console.log(
    `pull v1: ${stats.pulled.chunks} chunks / ${stats.pulled.bytes} bytes pulled; DP05 served ${served}, the site ` +
      `${siteServed}; proxy ${proxy.stats.connections} connections, ${proxy.stats.cut} cut; row BytesSent ${row.BytesSent}`,
  );
  expect(stats.pulled.bytes).toBe(5 * MiB);
  expect(served + siteServed).toBeGreaterThanOrEqual(stats.pulled.chunks);
  expect(served).toBeGreaterThan(0);
  expect(stats.received.chunks).toBe(0); // nothing was pushed to the pull DP
  expect(row.BytesSent).toBe(5 * MiB);
}, 60_000);

it('while it pulls v2, clients get v1 or v2 whole, never a mix; the delta only is fetched', async () => {
  const v1 = readFileSync(join(src(), 'file0.bin'));
  const v2 = Buffer.from(v1);
  randomBytes(1 * MiB).copy(v2, MiB);
  writeFileSync(join(src(), 'file0.bin'), v2);
  const allowed = new Map([
    [sha(v1), 'v1'],
    [sha(v2), 'v2'],
  ]);
  const before = (await puller.adapter().stats()).pulled;
  await t.site.distribution.refreshPkgSource(packageId);
  const stop = faultsOn();
  const seen = new Map<string, number>();
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const r = await fetch(`${puller.url}/content/${packageId}/file0.bin`);
      const body = Buffer.from(await r.arrayBuffer());
      const what =
        r.status === 200 ? (allowed.get(sha(body)) ?? `a mix of ${body.length} bytes`) : `HTTP ${r.status}`;
      seen.set(what, (seen.get(what) ?? 0) + 1);
    }
  })();
  const log: string[] = [];
  try {
    const row = await settle(t, packageId, 'DP06', 2, { log });
    expect(row, log.join('\n')).toMatchObject({ State: DpState.INSTALLED, SourceVersion: 2 });
  } finally {
    reading = false;
    await reader;
    await stop();
  }
  console.log(`client reads during the v2 pull: ${JSON.stringify(Object.fromEntries(seen))}`);
  expect([...seen.keys()].every((k) => k === 'v1' || k === 'v2')).toBe(true);
  expect(seen.get('v1')).toBeGreaterThan(0);
  expectTree(puller.dir);
  const pulled = (await puller.adapter().stats()).pulled.bytes - before.bytes;
  expect(pulled).toBeGreaterThan(0);
  expect(pulled).toBeLessThan(2 * MiB); // the changed MiB and the chunks around its edges
}, 60_000);

it('VerifyPackage finds a corrupted and a deleted file on the pull DP; RefreshNow re-fetches only those chunks', async () => {
  const tree = join(puller.dir, packageId);
  const damaged = readFileSync(join(tree, 'file0.bin'));
  damaged.fill(0x55, 3 * MiB, 3 * MiB + 100);
  writeFileSync(join(tree, 'file0.bin'), damaged);
  rmSync(join(tree, 'file1.bin'));

  await t.site.distribution.verifyPackage(packageId, 'DP06');
  const failed = await settle(t, packageId, 'DP06', 2, { until: (r) => r.State === DpState.INSTALL_FAILED });
  expect(failed.LastError).toMatch(
    /content validation failed: 1 bad chunk\(s\), 1 missing .*file1\.bin.*file0\.bin@/,
  );
  const messages = await t.site.status.messages(packageId);
  expect(JSON.stringify(messages)).toMatch(/file1\.bin/);

  const before = (await puller.adapter().stats()).pulled;
  await t.site.distribution.refreshNow(packageId, 'DP06');
  const row = await settle(t, packageId, 'DP06', 2);
  expect(row).toMatchObject({ State: DpState.INSTALLED, SourceVersion: 2 });
  expectTree(puller.dir);
  const after = (await puller.adapter().stats()).pulled;
  console.log(
    `pull repair: ${after.chunks - before.chunks} chunks / ${after.bytes - before.bytes} bytes re-fetched`,
  );
  // file1 (1 MiB) and the one chunk of file0 around the damage: nothing else.
  expect(after.bytes - before.bytes).toBeGreaterThan(MiB);
  expect(after.bytes - before.bytes).toBeLessThan(MiB + 512 * 1024);
}, 60_000);
