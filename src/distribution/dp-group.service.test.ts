import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeOf, fileSha256 } from '../../test/support/assertions.js';
import { eachDialect } from '../../test/support/dialects.js';
import { createTestSite, dpRoot, type TestSite } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import { DpState } from './index.js';

eachDialect('distribution point groups', (dialect) => {
  let t: TestSite;
  const packages: string[] = [];

  beforeAll(async () => {
    t = await createTestSite(dialect);
    for (const name of ['drivers', 'tools']) {
      const src = join(t.dir, 'src', name);
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, `${name}.txt`), `${name} `.repeat(10_000));
      const pkg = await t.site.packages.create(PackageType.SMS_Package, { Name: name, PkgSourcePath: src });
      packages.push(pkg.packageId);
    }
    await t.addDps(3);
  });
  afterAll(() => t?.close());

  const state = async (packageId: string): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await t.site.status.distPointStatus(packageId)).map(
        (r) => [r.ServerName, r.State] as [string, number],
      ),
    );

  it('creates groups with a GUID key, unique names, and clear errors', async () => {
    const g = await t.site.dpGroups.create({ name: 'Branch offices', description: 'EU branches' });
    expect(g.groupId).toMatch(/^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/);
    expect(g).toMatchObject({ name: 'Branch offices', memberCount: 0, contentCount: 0 });
    expect(await codeOf(t.site.dpGroups.create({ name: 'branch OFFICES' }))).toBe('ALREADY_EXISTS');
    expect(await codeOf(t.site.dpGroups.create({ name: '  ' }))).toBe('INVALID_PARAMETER');
    expect(await codeOf(t.site.dpGroups.get('nope'))).toBe('NOT_FOUND');
    expect((await t.site.dpGroups.get(g.groupId.toLowerCase())).name).toBe('Branch offices');
    expect(await codeOf(t.site.dpGroups.addDistributionPoints(g.groupId, ['DP99']))).toBe('NOT_FOUND');
    expect(await codeOf(t.site.dpGroups.addPackages(g.groupId, ['PS1FFFFF']))).toBe('NOT_FOUND');
    // Nothing half-done by the failures above.
    expect(await t.site.dpGroups.get(g.groupId)).toMatchObject({ memberCount: 0, contentCount: 0 });
  });

  it('sends a package assigned to the group to every member, and to a DP that joins later', async () => {
    const g = await t.site.dpGroups.get('Branch offices');
    await t.site.dpGroups.addDistributionPoints(g.groupId, ['DP01', 'DP02']);
    await t.site.dpGroups.addPackages(g.groupId, [packages[0]!]);
    await t.drain();
    expect(await state(packages[0]!)).toEqual({ DP01: DpState.INSTALLED, DP02: DpState.INSTALLED });
    const src = join(t.dir, 'src', 'drivers', 'drivers.txt');
    for (const dp of ['DP01', 'DP02']) {
      expect(await fileSha256(join(dpRoot(t, dp), packages[0]!, 'drivers.txt'))).toBe(await fileSha256(src));
    }
    expect((await t.site.dpGroups.detail(g.groupId)).outOfSync).toBe(0);

    const { added } = await t.site.dpGroups.addDistributionPoints(g.name, ['DP03', 'DP01']);
    expect(added).toBe(1);
    expect((await t.site.dpGroups.detail(g.groupId)).outOfSync).toBe(1);
    await t.drain();
    expect(await state(packages[0]!)).toEqual({
      DP01: DpState.INSTALLED,
      DP02: DpState.INSTALLED,
      DP03: DpState.INSTALLED,
    });
    expect(existsSync(join(dpRoot(t, 'DP03'), packages[0]!, 'drivers.txt'))).toBe(true);
  });

  it('RefreshDPGroup targets members that lost a package; ReDistributePackage resends to all', async () => {
    const g = await t.site.dpGroups.get('Branch offices');
    // DP02 loses the package outside the group's knowledge (an admin removed it from that DP).
    await t.site.distribution.removeContent(packages[0]!, 'DP02');
    await t.drain();
    expect(Object.keys(await state(packages[0]!)).sort()).toEqual(['DP01', 'DP03']);
    expect(await t.site.dpGroups.refreshDPGroup(g.groupId)).toEqual({ targeted: 1 });
    await t.drain();
    expect((await state(packages[0]!)).DP02).toBe(DpState.INSTALLED);

    expect(await codeOf(t.site.dpGroups.reDistributePackage(g.groupId, packages[1]!))).toBe('NOT_FOUND');
    expect(await t.site.dpGroups.reDistributePackage(g.groupId, packages[0]!)).toEqual({ dps: 3 });
    await t.drain();
    const rows = await t.site.status.distPointStatus(packages[0]!);
    expect(rows.map((r) => [r.State, r.Attempts > 0])).toEqual([
      [DpState.INSTALLED, true],
      [DpState.INSTALLED, true],
      [DpState.INSTALLED, true],
    ]);
  });

  it('RemovePackages removes content from members unless another group still assigns it', async () => {
    const g = await t.site.dpGroups.get('Branch offices');
    const other = await t.site.dpGroups.create({ name: 'Pilot' });
    await t.site.dpGroups.addDistributionPoints(other.groupId, ['DP03']);
    await t.site.dpGroups.addPackages(other.groupId, [packages[0]!]);
    await t.site.dpGroups.removePackages(g.groupId, [packages[0]!]);
    await t.drain();
    expect(await state(packages[0]!)).toEqual({ DP03: DpState.INSTALLED });
    expect(existsSync(join(dpRoot(t, 'DP01'), packages[0]!))).toBe(false);
    expect(await codeOf(t.site.dpGroups.removePackages(g.groupId, [packages[0]!]))).toBe('NOT_FOUND');

    // Leaving a group or deleting it keeps content where it is.
    await t.site.dpGroups.removeDistributionPoints(other.groupId, ['DP03']);
    await t.site.dpGroups.delete(other.groupId);
    await t.drain();
    expect(await state(packages[0]!)).toEqual({ DP03: DpState.INSTALLED });
    expect((await t.site.dpGroups.list()).map((x) => x.name)).toEqual(['Branch offices']);
  });
});
