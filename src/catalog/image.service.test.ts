import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { makeWim } from '../../test/support/make-wim.js';
import { FakeClock, isSitecastError } from '../kernel/index.js';
import {
  ImageInfoRepository,
  ImageService,
  PackageRepository,
  PackageService,
  PackageType,
  toSmsImageInformation,
  toSmsPackage,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'sitecast-image-'));
const twoImages = join(dir, 'two.wim');
const notWim = join(dir, 'random.wim');
beforeAll(() => {
  makeWim(twoImages, [
    {
      name: 'Windows 11 Enterprise',
      description: 'January build',
      flags: 'Enterprise',
      properties: {
        'WINDOWS/ARCH': '9',
        'WINDOWS/VERSION/MAJOR': '10',
        'WINDOWS/VERSION/MINOR': '0',
        'WINDOWS/VERSION/BUILD': '22631',
        'WINDOWS/VERSION/SPBUILD': '2861',
        'WINDOWS/LANGUAGES/DEFAULT': 'en-US',
        'WINDOWS/HAL': 'acpiapic',
        'WINDOWS/PRODUCTTYPE': 'WinNT',
      },
    },
    { name: 'Windows 11 Pro', flags: 'Professional', properties: { 'WINDOWS/ARCH': '12' } },
  ]);
  writeFileSync(notWim, Buffer.alloc(4096, 7));
});

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; field?: unknown; message: string }> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isSitecastError(e)) throw new Error(`expected a SitecastError, got ${String(e)}`);
  return { code: e.code, field: e.details.field, message: e.message };
}

forEachDialect('image metadata of image packages', (ctx) => {
  let packages: PackageService;
  let images: ImageService;
  const clock = new FakeClock();
  beforeAll(() => {
    packages = new PackageService(
      new PackageRepository(ctx.database.db),
      clock,
      'PS1',
      new ImageInfoRepository(ctx.database.db),
    );
    images = new ImageService(packages);
  });
  const count = async (): Promise<number> =>
    Number(
      (
        await ctx.database.db
          .selectFrom('package')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('fills ImageProperty and one SMS_ImageInformation row per index when the package is created', async () => {
    const p = await packages.create(PackageType.SMS_ImagePackage, {
      Name: 'Win11',
      PkgSourcePath: twoImages,
      ImageIndex: 2,
      Version: '23H2',
    });
    const xml = toSmsPackage(p, { lazy: true }).ImageProperty as string;
    expect(xml).toMatch(/^<WIM>/);
    expect(xml).toContain('<NAME>Windows 11 Enterprise</NAME>');
    expect(xml).toContain('<NAME>Windows 11 Pro</NAME>');
    const rows = (await packages.listImages(p.packageId)).map(toSmsImageInformation);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      PackageID: p.packageId,
      Index: 1,
      Name: 'Windows 11 Enterprise',
      Description: 'January build',
      Architecture: 9,
      ImageOSVersion: '10.0.22631.2861',
      OSVersion: '10.0.22631.2861',
      Language: 'en-US',
      HALType: 'acpiapic',
      ProductType: 'WinNT',
      Version: '23H2',
    });
    expect(rows[0]!.Size).toBeGreaterThan(0);
    expect(Date.parse(rows[0]!.CreationDate!)).toBeGreaterThan(Date.parse('2020-01-01'));
    expect(rows[1]).toMatchObject({ Index: 2, Name: 'Windows 11 Pro', Architecture: 12, Version: '23H2' });
    // Version of the rows follows the package's.
    await packages.update(p.packageId, { Version: '24H2' });
    expect((await packages.listImages(p.packageId)).map((r) => r.version)).toEqual(['24H2', '24H2']);
  });

  it('rejects an ImageIndex the WIM does not have, naming the indexes it has; nothing is created', async () => {
    const before = await count();
    const e = await errorOf(
      packages.create(PackageType.SMS_ImagePackage, { Name: 'x', PkgSourcePath: twoImages, ImageIndex: 3 }),
    );
    expect(e).toMatchObject({ code: 'INVALID_PARAMETER', field: 'ImageIndex' });
    expect(e.message).toMatch(/ImageIndex 3 .*available: 1, 2/);
    expect(await count()).toBe(before);
    const ok = await packages.create(PackageType.SMS_ImagePackage, { Name: 'y', PkgSourcePath: twoImages });
    const e2 = await errorOf(packages.update(ok.packageId, { ImageIndex: 9 }));
    expect(e2).toMatchObject({ code: 'INVALID_PARAMETER', field: 'ImageIndex' });
    expect((await packages.update(ok.packageId, { ImageIndex: 1 })).package.imageIndex).toBe(1);
    expect(await errorOf(packages.update(ok.packageId, { PkgSourcePath: notWim }))).toMatchObject({
      code: 'INVALID_PARAMETER',
      field: 'PkgSourcePath',
    });
    expect((await packages.get(ok.packageId)).pkgSourcePath).toBe(twoImages);
  });

  it('rejects a file that is not a WIM with the reader error, naming PkgSourcePath; nothing is created', async () => {
    const before = await count();
    const e = await errorOf(
      packages.create(PackageType.SMS_ImagePackage, { Name: 'x', PkgSourcePath: notWim }),
    );
    expect(e).toMatchObject({ code: 'INVALID_PARAMETER', field: 'PkgSourcePath' });
    expect(e.message).toContain(notWim);
    expect(await count()).toBe(before);
  });

  it('GetImageProperties returns the XML and creates nothing; it needs an absolute path to a WIM', async () => {
    const before = await count();
    const r = await images.getImageProperties(twoImages);
    expect(r.ImageProperty).toContain('<IMAGE INDEX="2">');
    expect(await count()).toBe(before);
    expect(await errorOf(images.getImageProperties('two.wim'))).toMatchObject({
      code: 'INVALID_PARAMETER',
      field: 'SourceImagePath',
    });
    expect(await errorOf(images.getImageProperties(notWim))).toMatchObject({
      code: 'INVALID_PARAMETER',
      field: 'SourceImagePath',
    });
    expect((await errorOf(images.getImageProperties(join(dir, 'none.wim')))).code).toBe('SOURCE_NOT_FOUND');
  });

  describe('ReloadImageProperties', () => {
    it('re-reads the WIM: an appended image appears, SedoObjectVersion moves, SourceVersion does not', async () => {
      const path = join(dir, 'reload.wim');
      makeWim(path, [{ name: 'One' }]);
      const p = await packages.create(PackageType.SMS_ImagePackage, { Name: 'Reload', PkgSourcePath: path });
      expect((await packages.listImages(p.packageId)).map((r) => r.name)).toEqual(['One']);
      makeWim(path, [{ name: 'Two', properties: { 'WINDOWS/ARCH': '0' } }], { append: true, firstIndex: 2 });
      const after = await images.reloadImageProperties(p.packageId);
      expect(after.imageProperty).toContain('<NAME>Two</NAME>');
      expect(Number(after.sedoObjectVersion)).toBeGreaterThan(Number(p.sedoObjectVersion));
      expect(after.sourceVersion).toBe(0);
      const rows = await packages.listImages(p.packageId);
      expect(rows.map((r) => [r.index, r.name, r.architecture])).toEqual([
        [1, 'One', null],
        [2, 'Two', 0],
      ]);
    });

    it('keeps the old metadata when the WIM no longer parses', async () => {
      const path = join(dir, 'broken.wim');
      makeWim(path, [{ name: 'Good' }]);
      const p = await packages.create(PackageType.SMS_ImagePackage, { Name: 'Broken', PkgSourcePath: path });
      writeFileSync(path, Buffer.alloc(1024));
      expect(await errorOf(images.reloadImageProperties(p.packageId))).toMatchObject({
        code: 'INVALID_PARAMETER',
        field: 'PkgSourcePath',
      });
      expect((await packages.get(p.packageId)).imageProperty).toContain('<NAME>Good</NAME>');
      expect((await packages.listImages(p.packageId)).map((r) => r.name)).toEqual(['Good']);
    });

    it('refuses a package that is not an image package', async () => {
      const p = await packages.create(PackageType.SMS_Package, { Name: 'Plain' });
      expect(await errorOf(images.reloadImageProperties(p.packageId))).toMatchObject({
        code: 'INVALID_PARAMETER',
        field: 'PackageID',
      });
    });
  });
});
