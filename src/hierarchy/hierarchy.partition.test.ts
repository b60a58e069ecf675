import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSha256 } from '../../test/support/assertions.js';
import { dpRoot } from '../../test/support/site-fixture.js';
import {
  casWithOnePrimary,
  changeAt,
  installedEverywhere,
  waitFor,
  type SiteNode,
} from './hierarchy.test-helpers.js';

const MiB = 1024 * 1024;

describe('site hierarchy: a partitioned primary', () => {
  let cas: SiteNode;
  let p01: SiteNode;
  let source: string;
  let packageId: string;

  beforeAll(async () => {
    ({ cas, p01, source, packageId } = await casWithOnePrimary(4 * MiB));
  }, 60_000);
  afterAll(async () => {
    for (const n of [p01, cas]) await n?.close();
  });

  it('catches up with one delta to the latest version after missing two refreshes', async () => {
    await p01.down();
    for (const v of [2, 3]) {
      changeAt(source, v * MiB, 32 * 1024);
      await cas.t.site.distribution.refreshPkgSource(packageId);
      await waitFor(
        `SourceVersion ${v} at the CAS`,
        async () => (await cas.t.site.packages.get(packageId)).sourceVersion === v,
      );
    }
    await waitFor(
      'P01 marked unreachable',
      async () => (await cas.t.site.hierarchy.listChildren())[0]!.state === 'unreachable',
    );
    await p01.up();
    const rows = await installedEverywhere(cas, packageId, 1, 3);
    expect(rows[0]!.SiteCode).toBe('P01');
    // One delta: version 2 never reached P01.
    expect((await p01.t.site.packages.listVersions(packageId)).map((v) => v.sourceVersion).sort()).toEqual([
      1, 3,
    ]);
    expect(await fileSha256(join(dpRoot(p01.t, 'DP01'), packageId, 'install.wim'))).toBe(
      await fileSha256(source),
    );
    await waitFor(
      'P01 active again',
      async () => (await cas.t.site.hierarchy.listChildren())[0]!.state === 'active',
    );
  }, 90_000);
});
