/**
 * Real time, real files: a DP limited to 4 MB/s receives a transfer at 4 MB/s ± 10 % over 10 s. The only
 * timed test of the suite, because the claim is about time; it measures the rate the DP receives, from the
 * transfer's own progress events, not how long the test takes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PackageType } from '../src/catalog/index.js';
import { DpState } from '../src/distribution/index.js';
import type { ProgressEvent } from '../src/kernel/index.js';
import { createTestSite, type TestSite } from './support/site-fixture.js';

const MB = 1000 * 1000;
let t: TestSite;
const events: { at: number; done: number }[] = [];

beforeAll(async () => {
  t = await createTestSite('sqlite', {
    onProgress: (e: ProgressEvent) => {
      if (e.operation === 'transfer' && e.target === 'DP01')
        events.push({ at: performance.now(), done: e.bytesDone });
    },
  });
  const src = join(t.dir, 'src');
  mkdirSync(src);
  // Incompressible and unique: 46 MB of chunks the DP does not have.
  writeFileSync(join(src, 'install.wim'), randomBytes(46 * MB));
  await t.addDps(1);
  await t.site.dpSettings.setBandwidth('DP01', { rateLimit: '4MB/s' });
});
afterAll(() => t?.close());

it(
  'holds a 4 MB/s rate limit within ±10 % over 10 s of a real transfer to a DP',
  { timeout: 120_000 },
  async () => {
    const pkg = await t.site.packages.create(PackageType.SMS_Package, {
      Name: 'p',
      PkgSourcePath: join(t.dir, 'src'),
    });
    await t.site.distribution.addDistributionPoints(pkg.packageId, ['DP01']);
    await t.drain();
    const [row] = await t.site.status.distPointStatus(pkg.packageId);
    expect(row!.State).toBe(DpState.INSTALLED);
    expect(row!.BytesSent).toBeGreaterThan(45 * MB);

    // The 10 s window starts at the first batch that landed; the rate is what arrived within it.
    const start = events[0]!.at;
    const within = events.filter((e) => e.at <= start + 10_000);
    const last = within.at(-1)!;
    const rate = ((last.done - events[0]!.done) * 1000) / (last.at - start);
    console.log(
      `rate limit 4 MB/s: measured ${(rate / MB).toFixed(2)} MB/s over ${((last.at - start) / 1000).toFixed(1)} s`,
    );
    expect(last.at - start).toBeGreaterThan(9_000);
    expect(rate).toBeGreaterThan(3.6 * MB);
    expect(rate).toBeLessThan(4.4 * MB);
  },
);
