/**
 * Resumability of pushes to a DP agent process (`sitecast dp serve`, design §2 invariant 2): connections
 * cut by a fault-injecting proxy (resets, truncated requests and responses, delays) and an agent killed
 * with SIGKILL mid-transfer. Each run must end with the DP on the right version, byte for byte, and the
 * agent's own counters must show that no chunk that had landed was sent again.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PackageType } from '../src/catalog/index.js';
import { DpState } from '../src/distribution/index.js';
import { killAllAgents, landedChunks, pollUntil, startAgent } from './support/agent-process.js';
import { FaultProxy, type Fault } from './support/fault-proxy.js';
import { settle, rowOf } from './support/settle.js';
import { createTestSite, type TestSite } from './support/site-fixture.js';

const SECRET = 'resume-test-secret-0123456789abcdef';
const MiB = 1024 * 1024;
let t: TestSite;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  t = await createTestSite('sqlite');
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await killAllAgents();
});
afterAll(() => t?.close());

/** A package of incompressible, unique files (every chunk is new to the DP); returns it and its files. */
async function newPackage(name: string, sizes: readonly number[]) {
  const src = join(t.dir, `src-${name}`);
  mkdirSync(src, { recursive: true });
  const files = new Map<string, Buffer>();
  sizes.forEach((size, i) => {
    const bytes = randomBytes(size);
    writeFileSync(join(src, `file${i}.bin`), bytes);
    files.set(`file${i}.bin`, bytes);
  });
  const pkg = await t.site.packages.create(PackageType.SMS_Package, { Name: name, PkgSourcePath: src });
  const total = sizes.reduce((a, b) => a + b, 0);
  return { packageId: pkg.packageId, files, total };
}

function expectTree(dir: string, packageId: string, files: ReadonlyMap<string, Buffer>): void {
  for (const [path, bytes] of files) {
    expect(readFileSync(join(dir, packageId, path)).equals(bytes), `${path} on the DP`).toBe(true);
  }
}

it('push through a proxy that resets, truncates and delays: right version, byte-identical, nothing sent twice', async () => {
  const agent = await startAgent(join(t.dir, 'agent-a'), SECRET);
  proxy = await FaultProxy.start({ port: agent.port });
  await t.site.dps.addHttp({ name: 'DP04', url: proxy.url, secret: SECRET });
  // Slow enough that the transfer spans many batches and connections while the faults switch.
  await t.site.dpSettings.setBandwidth('DP04', { rateLimit: '4MB/s' });
  const { packageId, files, total } = await newPackage('faulty', [5 * MiB, 2 * MiB, 300_000]);
  await t.site.distribution.addDistributionPoints(packageId, ['DP04']);

  // Each fault holds for 150 ms, then the link is clean for as long: every kind hits some request.
  const faults: Fault[] = [
    // The agent stored the batch, the answer is lost: the site must not send it again.
    { kind: 'reset', direction: 'down', afterBytes: 120 },
    // The batch is cut short on the way: nothing of it is stored, it is sent again.
    { kind: 'truncate', direction: 'up', afterBytes: 300_000 },
    { kind: 'delay', ms: 20 },
    { kind: 'reset', direction: 'up', afterBytes: 700_000 },
    { kind: 'truncate', direction: 'down', afterBytes: 60 },
    { kind: 'refuse' },
  ].flatMap((f): Fault[] => [f as Fault, { kind: 'none' }]);
  let stop = false;
  const switcher = (async () => {
    for (let i = 0; !stop && proxy; i++) {
      proxy.setFault(faults[i % faults.length]!);
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  const log: string[] = [];
  try {
    await settle(t, packageId, 'DP04', 1, { log });
  } finally {
    stop = true;
    await switcher;
    proxy.setFault({ kind: 'none' });
  }

  const row = await rowOf(t, packageId, 'DP04');
  expect(row, log.join('\n')).toMatchObject({ StateName: 'INSTALLED', SourceVersion: 1 });
  expectTree(agent.dir, packageId, files);
  const stats = await agent.adapter().stats();
  console.log(
    `fault proxy: ${proxy.stats.connections} connections, ${proxy.stats.cut} cut; agent received ` +
      `${stats.received.chunks} chunks / ${stats.received.bytes} bytes of ${total}, duplicates ${stats.duplicates.chunks}`,
  );
  expect(proxy.stats.cut).toBeGreaterThan(0);
  expect(stats.duplicates).toEqual({ chunks: 0, bytes: 0 });
  expect(stats.received.bytes).toBe(total);
  expect(stats.rejected.chunks).toBe(0);
}, 60_000);

it('SIGKILL of the agent mid-transfer: after a restart the transfer finishes without resending landed chunks', async () => {
  const dir = join(t.dir, 'agent-b');
  let agent = await startAgent(dir, SECRET);
  await t.site.dps.addHttp({ name: 'DP05', url: agent.url, secret: SECRET });
  await t.site.dpSettings.setBandwidth('DP05', { rateLimit: '3MB/s' });
  const { packageId, files, total } = await newPackage('killed', [6 * MiB, 1 * MiB]);
  await t.site.distribution.addDistributionPoints(packageId, ['DP05']);
  const log: string[] = [];
  const settled = settle(t, packageId, 'DP05', 1, { log });

  // Kill once a good part (but not all) of the version has landed on the DP.
  await pollUntil('2 MiB landed on the agent', () => {
    const landed = landedChunks(dir, packageId);
    return landed.bytes >= 2 * MiB ? landed : undefined;
  });
  await agent.kill('SIGKILL');
  const landed = landedChunks(dir, packageId);
  expect(landed.bytes).toBeLessThan(total);
  agent = await startAgent(dir, SECRET, agent.port);
  await settled;

  const row = await rowOf(t, packageId, 'DP05');
  expect(row, log.join('\n')).toMatchObject({ State: DpState.INSTALLED, SourceVersion: 1 });
  expectTree(dir, packageId, files);
  const stats = await agent.adapter().stats();
  console.log(
    `SIGKILL: ${landed.chunks} chunks / ${landed.bytes} bytes had landed of ${total}; the restarted agent received ` +
      `${stats.received.chunks} chunks / ${stats.received.bytes} bytes, duplicates ${stats.duplicates.chunks}`,
  );
  expect(stats.duplicates).toEqual({ chunks: 0, bytes: 0 });
  expect(stats.received.bytes).toBe(total - landed.bytes);
}, 60_000);
