/**
 * The site's transfer job survives a pull DP's agent being killed mid-pull: the job keeps following,
 * re-issues the pull once the agent is back, and the pull resumes from the chunks that had landed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PackageType } from '../src/catalog/index.js';
import { DpState } from '../src/distribution/index.js';
import { siteChunkRoutes, siteGrantVerifier } from '../src/dp/index.js';
import { systemClock } from '../src/kernel/index.js';
import { killAllAgents, landedChunks, pollUntil, startAgent } from './support/agent-process.js';
import { rowOf, settle } from './support/settle.js';
import { createTestSite, type TestSite } from './support/site-fixture.js';

const MiB = 1024 * 1024;
let t: TestSite;
let siteServer: FastifyInstance;
let siteUrl: string;

beforeAll(async () => {
  t = await createTestSite('sqlite');
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
  });
  siteUrl = await siteServer.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await killAllAgents();
  await siteServer?.close();
  await t?.close();
});

it('SIGKILL of a pull DP mid-pull: the transfer job re-issues the pull and it resumes', async () => {
  const dir = join(t.dir, 'dp07');
  let agent = await startAgent(dir, 'pull-restart-secret-0123456789abcdef');
  await t.site.dps.addHttp({ name: 'DP07', url: agent.url, secret: agent.secret, pull: { siteUrl } });
  await t.site.dpSettings.setBandwidth('DP07', { rateLimit: '2MB/s' });
  const src = join(t.dir, 'src');
  mkdirSync(src);
  const bytes = randomBytes(4 * MiB);
  writeFileSync(join(src, 'big.bin'), bytes);
  const pkg = await t.site.packages.create(PackageType.SMS_Package, { Name: 'p', PkgSourcePath: src });
  await t.site.distribution.addDistributionPoints(pkg.packageId, ['DP07']);
  const log: string[] = [];
  const settled = settle(t, pkg.packageId, 'DP07', 1, { log });

  await pollUntil('1.5 MiB pulled', () =>
    landedChunks(dir, pkg.packageId).bytes >= 1.5 * MiB ? true : undefined,
  );
  await agent.kill('SIGKILL');
  const landed = landedChunks(dir, pkg.packageId);
  agent = await startAgent(dir, agent.secret, agent.port);
  const row = await settled;

  expect(row, log.join('\n')).toMatchObject({ State: DpState.INSTALLED, SourceVersion: 1 });
  expect(readFileSync(join(dir, pkg.packageId, 'big.bin')).equals(bytes)).toBe(true);
  const stats = await agent.adapter().stats();
  console.log(
    `pull restart: ${landed.bytes} bytes had landed; the restarted agent pulled ${stats.pulled.bytes} of ${4 * MiB}`,
  );
  expect(landed.bytes).toBeGreaterThan(0);
  expect(stats.pulled.bytes).toBe(4 * MiB - landed.bytes);
  expect(agent.output()).toMatch(/pulling SourceVersion 1 from site#1/);
  // The same job attempt followed the pull across the restart: it did not fail and wait for a retry.
  expect(log.join('\n')).not.toMatch(/failed on attempt/);
}, 60_000);

it('CancelDistribution stops the pull on the DP too; what landed stays for the next attempt', async () => {
  const dir = join(t.dir, 'dp08');
  const agent = await startAgent(dir, 'pull-cancel-secret-0123456789abcdef');
  await t.site.dps.addHttp({ name: 'DP08', url: agent.url, secret: agent.secret, pull: { siteUrl } });
  await t.site.dpSettings.setBandwidth('DP08', { rateLimit: '1MB/s' });
  const src = join(t.dir, 'src-cancel');
  mkdirSync(src);
  writeFileSync(join(src, 'big.bin'), randomBytes(6 * MiB));
  const pkg = await t.site.packages.create(PackageType.SMS_Package, { Name: 'c', PkgSourcePath: src });
  await t.site.distribution.addDistributionPoints(pkg.packageId, ['DP08']);
  // The site keeps running (a worker stopping would leave the DP pulling: the job runs again later).
  const worker = t.site.createWorker({ pollMs: 50, leaseMs: 3_000 });
  worker.start();
  let stopped;
  try {
    await pollUntil('a pull under way', () =>
      landedChunks(dir, pkg.packageId).bytes > 0 ? true : undefined,
    );
    await t.site.distribution.cancelDistribution(pkg.packageId, 'DP08');
    stopped = await pollUntil('the pull to stop on the DP', async () => {
      const s = await agent.adapter().status(pkg.packageId);
      return s.pull === null ? s : undefined;
    });
  } finally {
    await worker.stop();
  }
  const row = await rowOf(t, pkg.packageId, 'DP08');
  expect(row).toMatchObject({
    State: DpState.INSTALL_FAILED,
    LastError: 'distribution cancelled by an administrator',
  });
  // A chunk already being written when the pull stopped may still land; after that, nothing more does
  // (at 1 MB/s a running pull would land ~10 chunks in 700 ms).
  await new Promise((r) => setTimeout(r, 300));
  const landed = landedChunks(dir, pkg.packageId);
  await new Promise((r) => setTimeout(r, 700));
  expect(landedChunks(dir, pkg.packageId)).toEqual(landed);
  expect(landed.bytes).toBeGreaterThan(0);
  expect(stopped.version).toBeNull();
}, 60_000);
