/**
 * Validation and repair of a pushed DP agent process (`sitecast dp serve`): bytes of its current tree are
 * corrupted on disk and a file deleted; VerifyPackage re-hashes on the agent and marks the DP failed,
 * naming the files; RefreshNow repairs it without a Redistribute, sending only the bad chunks.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PackageType } from '../src/catalog/index.js';
import { DpState, MessageId } from '../src/distribution/index.js';
import { killAllAgents, pollUntil, startAgent, type AgentProcess } from './support/agent-process.js';
import { settle } from './support/settle.js';
import { createTestSite, type TestSite } from './support/site-fixture.js';

const MiB = 1024 * 1024;
let t: TestSite;
let agent: AgentProcess;

beforeAll(async () => {
  t = await createTestSite('sqlite');
  agent = await startAgent(join(t.dir, 'dp04'), 'repair-agent-secret-0123456789abcdef');
  await t.site.dps.addHttp({ name: 'DP04', url: agent.url, secret: agent.secret });
}, 60_000);
afterAll(async () => {
  await killAllAgents();
  await t?.close();
});

it('VerifyPackage reports corrupted and deleted files; RefreshNow re-sends only their chunks', async () => {
  const src = join(t.dir, 'src');
  mkdirSync(src);
  const files = new Map([
    ['sources/install.wim', randomBytes(4 * MiB)],
    ['boot.sdi', randomBytes(600_000)],
    ['readme.txt', Buffer.from('unchanged\n')],
  ]);
  for (const [path, bytes] of files) {
    mkdirSync(join(src, path, '..'), { recursive: true });
    writeFileSync(join(src, path), bytes);
  }
  const pkg = await t.site.packages.create(PackageType.SMS_Package, { Name: 'repair', PkgSourcePath: src });
  await t.site.distribution.addDistributionPoints(pkg.packageId, ['DP04']);
  expect(await settle(t, pkg.packageId, 'DP04', 1)).toMatchObject({ State: DpState.INSTALLED });
  const tree = join(agent.dir, pkg.packageId);

  // Damage on the DP's disk: 64 bytes flipped in the WIM, the boot file gone.
  const wim = readFileSync(join(tree, 'sources/install.wim'));
  for (let i = 0; i < 64; i++) wim[2 * MiB + i] = wim[2 * MiB + i]! ^ 0xff;
  writeFileSync(join(tree, 'sources/install.wim'), wim);
  rmSync(join(tree, 'boot.sdi'));

  await t.site.distribution.verifyPackage(pkg.packageId, 'DP04');
  const failed = await settle(t, pkg.packageId, 'DP04', 1, {
    until: (r) => r.State === DpState.INSTALL_FAILED,
  });
  expect(failed.LastError).toMatch(
    /content validation failed: 1 bad chunk\(s\), 1 missing or wrong-size file\(s\): boot\.sdi, sources\/install\.wim@\d+/,
  );
  const messages = JSON.stringify(await t.site.status.messages(pkg.packageId));
  expect(messages).toMatch(/boot\.sdi/);
  expect(messages).toMatch(/sources\/install\.wim@/);

  const before = await agent.adapter().stats();
  await t.site.distribution.refreshNow(pkg.packageId, 'DP04');
  const row = await settle(t, pkg.packageId, 'DP04', 1);
  expect(row).toMatchObject({ State: DpState.INSTALLED, SourceVersion: 1, LastError: null });
  for (const [path, bytes] of files) expect(readFileSync(join(tree, path)).equals(bytes), path).toBe(true);
  const after = await agent.adapter().stats();
  const sent = after.received.bytes - before.received.bytes;
  console.log(
    `push repair: ${after.received.chunks - before.received.chunks} chunks / ${sent} bytes sent again; row BytesSent ${row.BytesSent}`,
  );
  // boot.sdi whole and the one WIM chunk around the damage (FastCDC chunks are at most 256 KiB).
  expect(sent).toBeGreaterThan(600_000);
  expect(sent).toBeLessThanOrEqual(600_000 + 256 * 1024);
  expect(after.duplicates.chunks).toBe(before.duplicates.chunks);
  expect(row.BytesSent).toBe(sent);

  // A second validation now passes (2384, newest first), and the DP stays installed.
  await t.site.distribution.verifyPackage(pkg.packageId, 'DP04');
  const validated = await pollUntil('the second validation', async () => {
    const worker = t.site.createWorker({ pollMs: 50, leaseMs: 10_000 });
    await worker.runUntilIdle();
    const [newest] = await t.site.status.messages(pkg.packageId, 1);
    return newest?.MessageID === MessageId.VALIDATION_SUCCEEDED ||
      newest?.MessageID === MessageId.VALIDATION_FAILED
      ? newest
      : undefined;
  });
  expect(validated.MessageID).toBe(MessageId.VALIDATION_SUCCEEDED);
  expect((await settle(t, pkg.packageId, 'DP04', 1)).State).toBe(DpState.INSTALLED);
}, 60_000);
