import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { makeWim } from '../../test/support/make-wim.js';
import { FakeClock, isSitecastError, type ErrorCode } from '../kernel/index.js';
import {
  ImageInfoRepository,
  PackageRepository,
  PackageService,
  PackageType,
  toSmsPackage,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'sitecast-catalog-'));
const wim = join(dir, 'install.wim');
const folder = join(dir, 'src');
beforeAll(() => {
  makeWim(wim, [{ name: 'Windows 11 Pro', flags: 'Professional' }]);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'a.txt'), 'a');
});

async function expectCode(p: Promise<unknown>, code: ErrorCode, field?: string): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isSitecastError(e), `expected ${code}, got ${String(e)}`).toBe(true);
  if (isSitecastError(e)) {
    expect(e.code).toBe(code);
    if (field) expect(e.details.field).toBe(field);
  }
}

forEachDialect('PackageService', (ctx) => {
  let service: PackageService;
  const clock = new FakeClock();
  beforeAll(() => {
    service = new PackageService(
      new PackageRepository(ctx.database.db),
      clock,
      'PS1',
      new ImageInfoRepository(ctx.database.db),
    );
  });

  describe('PackageID allocation', () => {
    it('allocates the site code and 5 hex digits, never reusing one', async () => {
      const a = await service.create(PackageType.SMS_ImagePackage, { Name: 'Win11', PkgSourcePath: wim });
      const b = await service.create(PackageType.SMS_Package, { Name: 'Tools', PkgSourcePath: folder });
      expect(a.packageId).toMatch(/^PS1[0-9A-F]{5}$/);
      expect(parseInt(b.packageId.slice(3), 16)).toBe(parseInt(a.packageId.slice(3), 16) + 1);
      await service.delete(b.packageId);
      const c = await service.create(PackageType.SMS_Package, { Name: 'Again' });
      expect(c.packageId).not.toBe(b.packageId);
    });
  });

  it('creates an image package with the defaults of reference §1', async () => {
    const p = await service.create(PackageType.SMS_ImagePackage, {
      Name: 'Win11 23H2',
      PkgSourcePath: wim,
      Priority: 1,
    });
    const sms = toSmsPackage(p);
    expect(sms).toMatchObject({
      PackageType: 257,
      PkgSourceFlag: 2,
      Priority: 1,
      SourceVersion: 0,
      SourceSite: 'PS1',
      ActionInProgress: 0,
      RefreshPkgSourceFlag: false,
      ForcedDisconnectDelay: 5,
      ForcedDisconnectNumRetries: 2,
    });
    expect(sms).not.toHaveProperty('ImageProperty');
    expect(toSmsPackage(p, { lazy: true }).ImageProperty).toMatch(/<NAME>Windows 11 Pro<\/NAME>/);
  });

  it('rejects bad sources with the documented error', async () => {
    await expectCode(
      service.create(257, { Name: 'x', PkgSourcePath: '' }),
      'INVALID_PARAMETER',
      'PkgSourcePath',
    );
    await expectCode(
      service.create(257, { Name: 'x', PkgSourcePath: 'rel/install.wim' }),
      'INVALID_PARAMETER',
      'PkgSourcePath',
    );
    await expectCode(
      service.create(257, { Name: 'x', PkgSourcePath: join(dir, 'missing.wim') }),
      'SOURCE_NOT_FOUND',
    );
    await expectCode(
      service.create(257, { Name: 'x', PkgSourcePath: folder }),
      'INVALID_PARAMETER',
      'PkgSourcePath',
    );
    await expectCode(service.create(257, { Name: 'x' }), 'INVALID_PARAMETER', 'PkgSourcePath');
    await expectCode(service.create(0, { Name: 'x', PkgSourceFlag: 2 }), 'NO_SOURCE', 'PkgSourcePath');
    await expectCode(service.create(0, { Name: '' }), 'INVALID_PARAMETER', 'Name');
    await expectCode(service.create(0, { Name: 'x', Priority: 7 } as never), 'INVALID_PARAMETER', 'Priority');
    await expectCode(
      service.create(0, { Name: 'x', SourceVersion: 3 } as never),
      'INVALID_PARAMETER',
      'SourceVersion',
    );
  });

  it('fails an update that carries a stale SedoObjectVersion', async () => {
    const p = await service.create(0, { Name: 'Apps', PkgSourcePath: folder });
    const first = await service.update(p.packageId, { Description: 'one' }, p.sedoObjectVersion);
    expect(first.package.description).toBe('one');
    await expectCode(
      service.update(p.packageId, { Description: 'two' }, p.sedoObjectVersion),
      'STALE_OBJECT',
      'SedoObjectVersion',
    );
    expect((await service.get(p.packageId)).description).toBe('one');
  });

  it('treats RefreshPkgSourceFlag=true as a refresh request and still reads false', async () => {
    const p = await service.create(0, { Name: 'Apps2', PkgSourcePath: folder });
    const r = await service.update(p.packageId, { RefreshPkgSourceFlag: true });
    expect(r.refreshRequested).toBe(true);
    expect(toSmsPackage(r.package).RefreshPkgSourceFlag).toBe(false);
  });

  it('reports unknown PackageIDs as 0x80041002', async () => {
    await expectCode(service.get('PS1FFFFF'), 'NOT_FOUND', 'PackageID');
    await expectCode(service.get('nonsense'), 'NOT_FOUND', 'PackageID');
  });

  it('moves SourceVersion forward by one with its version row, in one transaction', async () => {
    const p = await service.create(257, { Name: 'Img', PkgSourcePath: wim });
    const commit = {
      packageId: p.packageId,
      manifestId: 'a'.repeat(64),
      totalBytes: 4096,
      fileCount: 1,
      chunkCount: 1,
      jobId: 7,
    };
    await service.transaction((trx) => service.commitVersion({ ...commit, previousVersion: 0 }, trx));
    const after = await service.get(p.packageId);
    expect(after.sourceVersion).toBe(1);
    expect(after.storedPkgVersion).toBe(1);
    expect(after.packageSizeKb).toBe(4);
    expect(after.sourceDate).toBe(clock.now());
    await expectCode(
      service.transaction((trx) => service.commitVersion({ ...commit, previousVersion: 0 }, trx)),
      'STALE_OBJECT',
    );
    // A failure after the version row was written inside the transaction leaves nothing behind.
    await expect(
      service.transaction(async (trx) => {
        await service.commitVersion({ ...commit, previousVersion: 1 }, trx);
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect((await service.get(p.packageId)).sourceVersion).toBe(1);
    expect((await service.listVersions(p.packageId)).map((v) => v.sourceVersion)).toEqual([1]);
    expect((await service.findVersionByJob(p.packageId, 7))?.sourceVersion).toBe(1);
  });
});
