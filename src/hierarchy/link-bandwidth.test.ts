import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Availability, alwaysOpen, withHours } from '../bandwidth/index.js';
import {
  casWithOnePrimary,
  changeAt,
  installedEverywhere,
  waitFor,
  type SiteNode,
} from './hierarchy.test-helpers.js';

const MiB = 1024 * 1024;
const everyHour = [0, 1, 2, 3, 4, 5, 6];

describe('the link to a child site has its own availability window and rate limit', () => {
  let cas: SiteNode;
  let p01: SiteNode;
  let source: string;
  let packageId: string;

  beforeAll(async () => {
    ({ cas, p01, source, packageId } = await casWithOnePrimary(2 * MiB));
  }, 60_000);
  afterAll(async () => {
    for (const n of [p01, cas]) await n?.close();
  });

  it('defers content to a closed link (saying until when), sends it once the link opens', async () => {
    const closed = withHours(alwaysOpen, everyHour, 0, 24, Availability.HighOnly);
    const link = await cas.t.site.hierarchy.setLinkBandwidth('p01', {
      availability: closed,
      rateLimit: '2MB/s',
    });
    expect(link.bandwidth.rateLimit).toEqual({ mode: 'rate', bytesPerSecond: 2_000_000 });
    changeAt(source, MiB, 64 * 1024);
    await cas.t.site.distribution.refreshPkgSource(packageId);
    await waitFor('the replication to wait for the link', () =>
      Promise.resolve(
        cas.log.some((l) =>
          /replicate .* → P01 waits: the link to site P01 never opens for priority 2/.test(l),
        ),
      ),
    );
    expect((await p01.t.site.packages.get(packageId)).sourceVersion).toBe(1);

    await cas.t.site.hierarchy.setLinkBandwidth('P01', { availability: alwaysOpen });
    // Deferred for an hour; opening the link brings it forward.
    await installedEverywhere(cas, packageId, 1, 2);
    await expect(cas.t.site.hierarchy.setLinkBandwidth('P99', { rateLimit: '1MB/s' })).rejects.toThrow(
      /P99 is not a child of site CAS/,
    );
    await expect(cas.t.site.hierarchy.setLinkBandwidth('P01', { rateLimit: 'fast' })).rejects.toThrow(
      /rate limit "fast"/,
    );
  }, 90_000);
});
