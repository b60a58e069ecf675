import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeOf } from '../../test/support/assertions.js';
import { eachDialect } from '../../test/support/dialects.js';
import { createTestSite, dpRoot, type TestSite } from '../../test/support/site-fixture.js';
import { mountTmpfs, type Tmpfs } from '../../test/support/tmpfs.js';
import { PackageType } from '../catalog/index.js';
import { isSitecastError } from '../kernel/index.js';
import { DpState, MessageId } from './index.js';

const MiB = 1024 * 1024;

eachDialect('distribution with bad input', (dialect) => {
  let t: TestSite;
  let dps: string[];
  beforeAll(async () => {
    t = await createTestSite(dialect);
    dps = await t.addDps(2);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('rejects unknown packages and DPs with 0x80041002 naming them', async () => {
    expect(await codeOf(t.site.distribution.addDistributionPoints('PS1ABCDE', dps))).toBe('NOT_FOUND');
    const src = join(t.dir, 'one');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'a');
    const pkg = await t.site.packages.create(PackageType.SMS_Package, { Name: 'One', PkgSourcePath: src });
    const e = await t.site.distribution
      .addDistributionPoints(pkg.packageId, ['NOPE'])
      .catch((x: unknown) => x);
    expect(isSitecastError(e) && e.code).toBe('NOT_FOUND');
    expect(String(e)).toMatch(/NOPE/);
    // Nothing was targeted when one of the DPs was unknown.
    expect(await t.site.status.distPointStatus(pkg.packageId)).toEqual([]);
    expect(await codeOf(t.site.distribution.verifyPackage(pkg.packageId, dps[0]!))).toBe('NOT_FOUND');
    expect(await codeOf(t.site.distribution.cancelDistribution(pkg.packageId, 'NOPE'))).toBe('NOT_FOUND');
  });

  it('fails a folder source with names Windows clients cannot hold, naming the path, and creates no version', async () => {
    const src = join(t.dir, 'collide');
    mkdirSync(join(src, 'Drivers'), { recursive: true });
    writeFileSync(join(src, 'Drivers', 'net.inf'), 'a');
    writeFileSync(join(src, 'Drivers', 'NET.inf'), 'b');
    const pkg = await t.site.packages.create(PackageType.SMS_Package, {
      Name: 'Collide',
      PkgSourcePath: src,
    });
    await t.site.distribution.addDistributionPoints(pkg.packageId, dps);
    await t.drain();
    const after = await t.site.packages.get(pkg.packageId);
    expect(after.sourceVersion).toBe(0);
    expect(after.actionInProgress).toBe(0);
    const failed = (await t.site.status.messages(pkg.packageId)).find(
      (m) => m.MessageID === MessageId.PACKAGE_FAILED,
    );
    expect(failed?.Text).toMatch(/0x8007007B .*net\.inf/i);
    for (const row of await t.site.status.distPointStatus(pkg.packageId)) {
      expect(row.State).toBe(DpState.INSTALL_FAILED);
      expect(row.LastError).toMatch(/differ only in case/);
      expect(existsSync(join(dpRoot(t, row.ServerName), pkg.packageId))).toBe(false);
    }
  });

  it('fails a refresh whose source keeps changing while it is read, and keeps the old version', async () => {
    const src = join(t.dir, 'busy');
    mkdirSync(src);
    const file = join(src, 'install.wim');
    // 16 MiB, not 2: on a loaded machine a 2 MiB read could finish between two appends of a starved writer.
    writeFileSync(file, randomBytes(16 * MiB));
    // A folder package: what matters is one big file changing while it is read.
    const pkg = await t.site.packages.create(PackageType.SMS_Package, {
      Name: 'Busy',
      PkgSourcePath: src,
    });
    await t.site.distribution.addDistributionPoints(pkg.packageId, [dps[0]!]);
    await t.drain();
    expect((await t.site.packages.get(pkg.packageId)).sourceVersion).toBe(1);
    await t.site.distribution.refreshPkgSource(pkg.packageId);
    // A writer keeps appending while the refresh reads: the snapshot re-reads, then gives up.
    const writer = setInterval(() => appendFileSync(file, randomBytes(64 * 1024)), 2);
    try {
      await t.drain();
    } finally {
      clearInterval(writer);
    }
    const after = await t.site.packages.get(pkg.packageId);
    expect(after.sourceVersion).toBe(1);
    expect((await t.site.packages.listVersions(pkg.packageId)).length).toBe(1);
    const failed = (await t.site.status.messages(pkg.packageId)).find(
      (m) => m.MessageID === MessageId.PACKAGE_FAILED,
    );
    expect(failed?.Text).toMatch(/0x80070020 .*kept changing/);
    const row = (await t.site.status.distPointStatus(pkg.packageId))[0]!;
    expect(row).toMatchObject({ State: DpState.INSTALLED, SourceVersion: 1 });
  });

  it('reports a DP folder that vanished as unreachable and retries, while other DPs install', async () => {
    const src = join(t.dir, 'vanish');
    mkdirSync(src);
    const file = join(src, 'install.wim');
    writeFileSync(file, randomBytes(1 * MiB));
    const [keep, gone] = await t.addDps(2);
    const pkg = await t.site.packages.create(PackageType.SMS_Package, {
      Name: 'Vanish',
      PkgSourcePath: src,
    });
    rmSync(dpRoot(t, gone!), { recursive: true, force: true });
    await t.site.distribution.addDistributionPoints(pkg.packageId, [keep!, gone!]);
    await t.drain();
    const rows = await t.site.status.distPointStatus(pkg.packageId);
    expect(rows.find((r) => r.ServerName === keep)?.State).toBe(DpState.INSTALLED);
    const bad = rows.find((r) => r.ServerName === gone)!;
    expect(bad.State).toBe(DpState.INSTALL_RETRYING);
    expect(bad.LastError).toMatch(/0x80070035/);
    expect(bad.LastError).toContain(dpRoot(t, gone!));
    // The DP is never silently recreated.
    expect(existsSync(dpRoot(t, gone!))).toBe(false);
  });

  it('reports a full DP disk as 0x80070070 and leaves nothing half-written there', async () => {
    const small = 'DPFULL';
    const mountPoint = join(t.dir, 'full');
    const fs = mountTmpfs(mountPoint, '6m');
    if ('skipReason' in fs) return;
    const tmpfs: Tmpfs = fs;
    try {
      await t.site.dps.addLocal({ name: small, root: join(mountPoint, 'dp') });
      const src = join(t.dir, 'big');
      mkdirSync(src);
      const file = join(src, 'install.wim');
      writeFileSync(file, randomBytes(8 * MiB));
      const pkg = await t.site.packages.create(PackageType.SMS_Package, {
        Name: 'Big',
        PkgSourcePath: src,
      });
      await t.site.distribution.addDistributionPoints(pkg.packageId, [small]);
      await t.drain();
      const row = (await t.site.status.distPointStatus(pkg.packageId))[0]!;
      expect(row.State).toBe(DpState.INSTALL_RETRYING);
      expect(row.LastError).toMatch(/0x80070070/);
      expect(existsSync(join(mountPoint, 'dp', pkg.packageId))).toBe(false);
      const staging = join(mountPoint, 'dp', '.sitecast', 'staging');
      expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]);
    } finally {
      tmpfs.unmount();
    }
  });
});
