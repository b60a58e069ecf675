import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fileSha256 } from '../../test/support/assertions.js';
import { eachDialect } from '../../test/support/dialects.js';
import { makeWim } from '../../test/support/make-wim.js';
import { createTestSite, dpRoot, type TestSite } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import { MessageId } from './index.js';

eachDialect('RefreshPkgSource of an image package', (dialect) => {
  let t: TestSite;
  let dps: string[];
  beforeAll(async () => {
    t = await createTestSite(dialect);
    dps = await t.addDps(1);
  });
  afterAll(async () => {
    await t?.close();
  });

  const imageNames = async (packageId: string): Promise<string[]> =>
    (await t.site.packages.listImages(packageId)).map((r) => `${r.index}:${r.name}:${r.imageOsVersion}`);

  it('updates ImageProperty and the image rows together with the new SourceVersion', async () => {
    const wim = join(t.dir, 'src', 'install.wim');
    const january = { name: 'Enterprise', properties: { 'WINDOWS/VERSION/BUILD': '22631' } };
    makeWim(wim, [january]);
    const pkg = await t.site.packages.create(PackageType.SMS_ImagePackage, {
      Name: 'Win11',
      PkgSourcePath: wim,
    });
    await t.site.distribution.addDistributionPoints(pkg.packageId, dps);
    await t.drain();
    const v1 = await t.site.packages.get(pkg.packageId);
    expect(v1.sourceVersion).toBe(1);
    expect(await imageNames(pkg.packageId)).toEqual(['1:Enterprise:0.0.22631.0']);

    // Re-captured with a newer build and an appended image: nothing changes until the refresh.
    rmSync(wim);
    makeWim(wim, [
      { name: 'Enterprise', properties: { 'WINDOWS/VERSION/BUILD': '26100' } },
      { name: 'Pro', flags: 'Professional' },
    ]);
    expect(await imageNames(pkg.packageId)).toEqual(['1:Enterprise:0.0.22631.0']);
    await t.site.distribution.refreshPkgSource(pkg.packageId);
    await t.drain();
    const v2 = await t.site.packages.get(pkg.packageId);
    expect(v2.sourceVersion).toBe(2);
    expect(v2.imageProperty).toContain('<NAME>Pro</NAME>');
    expect(v2.imageProperty).not.toEqual(v1.imageProperty);
    expect(await imageNames(pkg.packageId)).toEqual(['1:Enterprise:0.0.26100.0', '2:Pro:']);
    expect(await fileSha256(join(dpRoot(t, dps[0]!), pkg.packageId, 'install.wim'))).toBe(
      await fileSha256(wim),
    );

    // A WIM that no longer parses fails the refresh with the reader's error: no version, metadata kept.
    writeFileSync(wim, Buffer.alloc(8192, 0x41));
    await t.site.distribution.refreshPkgSource(pkg.packageId);
    await t.drain();
    const after = await t.site.packages.get(pkg.packageId);
    expect(after.sourceVersion).toBe(2);
    expect(after.imageProperty).toBe(v2.imageProperty);
    expect((await t.site.packages.listVersions(pkg.packageId)).map((v) => v.sourceVersion)).toEqual([1, 2]);
    expect(await imageNames(pkg.packageId)).toEqual(['1:Enterprise:0.0.26100.0', '2:Pro:']);
    const failed = (await t.site.status.messages(pkg.packageId)).find(
      (m) => m.MessageID === MessageId.PACKAGE_FAILED,
    );
    expect(failed?.Text).toMatch(/0x80041008 .*PkgSourcePath .*install\.wim/);
  });

  it('fails a refresh whose WIM no longer has the ImageIndex the package deploys', async () => {
    const wim = join(t.dir, 'src2', 'install.wim');
    makeWim(wim, [{ name: 'A' }, { name: 'B' }]);
    const pkg = await t.site.packages.create(PackageType.SMS_ImagePackage, {
      Name: 'Index 2',
      PkgSourcePath: wim,
      ImageIndex: 2,
    });
    await t.site.distribution.refreshPkgSource(pkg.packageId);
    await t.drain();
    expect((await t.site.packages.get(pkg.packageId)).sourceVersion).toBe(1);
    rmSync(wim);
    makeWim(wim, [{ name: 'A only' }]);
    await t.site.distribution.refreshPkgSource(pkg.packageId);
    await t.drain();
    expect((await t.site.packages.get(pkg.packageId)).sourceVersion).toBe(1);
    expect(await imageNames(pkg.packageId)).toEqual(['1:A:', '2:B:']);
    const failed = (await t.site.status.messages(pkg.packageId)).find(
      (m) => m.MessageID === MessageId.PACKAGE_FAILED,
    );
    expect(failed?.Text).toMatch(/ImageIndex 2 .*available: 1/);
  });
});
