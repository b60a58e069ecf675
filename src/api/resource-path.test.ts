import { describe, expect, it } from 'vitest';
import { isSitecastError } from '../kernel/index.js';
import { parseResourcePath } from './resource-path.js';

describe('parseResourcePath', () => {
  it('reads every form the AdminService accepts', () => {
    expect(parseResourcePath('')).toEqual({ kind: 'root' });
    expect(parseResourcePath('$metadata')).toEqual({ kind: 'metadata' });
    expect(parseResourcePath('SMS_Package')).toEqual({ kind: 'collection', className: 'SMS_Package' });
    expect(parseResourcePath('SMS_Package/')).toEqual({ kind: 'collection', className: 'SMS_Package' });
    expect(parseResourcePath("SMS_Package('PS100039')")).toEqual({
      kind: 'instance',
      className: 'SMS_Package',
      key: { kind: 'positional', value: 'PS100039' },
    });
    expect(parseResourcePath('SMS_AdminToken(12)')).toMatchObject({ key: { kind: 'positional', value: 12 } });
    expect(parseResourcePath("SMS_ImagePackage('PS100039')/AdminService.RefreshPkgSource")).toEqual({
      kind: 'instance-method',
      className: 'SMS_ImagePackage',
      key: { kind: 'positional', value: 'PS100039' },
      method: 'RefreshPkgSource',
    });
    expect(parseResourcePath('SMS_ImagePackage.GetImageProperties')).toEqual({
      kind: 'static-method',
      className: 'SMS_ImagePackage',
      method: 'GetImageProperties',
    });
    expect(parseResourcePath('SMS_ImagePackage/AdminService.GetImageProperties')).toMatchObject({
      kind: 'static-method',
      method: 'GetImageProperties',
    });
  });

  it('reads composite keys whose strings hold quotes, slashes and parentheses', () => {
    const nal = '["Display=\\\\DP01\\"]MSWNET:["SMS_SITE=PS1"]\\\\DP01\\';
    const p = parseResourcePath(`SMS_DistributionPoint(PackageID='PS100001',ServerNALPath='${nal}')`);
    expect(p).toMatchObject({
      kind: 'instance',
      key: { kind: 'named', values: { PackageID: 'PS100001', ServerNALPath: nal } },
    });
    expect(parseResourcePath("X('a/b)c''d')")).toMatchObject({ key: { value: "a/b)c'd" } });
    expect(parseResourcePath("SMS_ImageInformation(PackageID='PS100001',Index=2)")).toMatchObject({
      key: { values: { PackageID: 'PS100001', Index: 2 } },
    });
  });

  it.each([
    ["SMS_Package('PS1", 13, /unterminated string/],
    ['SMS_Package(PS1)', 13, /quoted string/],
    ["SMS_Package('a','b')", 16, /single key value takes no comma/],
    ["SMS_Package('a')x", 17, /AdminService/],
    ['SMS_Package.', 13, /method name/],
    ['9lives', 1, /class name/],
    ["SMS_X(A='1',A='2')", 13, /given twice/],
  ])('refuses %s at column %i', (path, position, message) => {
    try {
      parseResourcePath(path);
      expect.unreachable();
    } catch (e) {
      expect(isSitecastError(e, 'INVALID_PARAMETER')).toBe(true);
      expect((e as Error).message).toMatch(message);
      expect((e as { details: { position: number } }).details.position).toBe(position);
    }
  });
});
