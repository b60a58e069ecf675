/** Fast unit tests on the committed fixtures (made by fixtures/make-fixtures.sh) and on broken copies. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SitecastError } from '../kernel/index.js';
import { parseWimHeader, parseWimXml, readWimMetadata } from './index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sitecast-wimunit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of multi.wim changed by `edit`, on disk. */
function broken(name: string, edit: (b: Buffer) => Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, edit(Buffer.from(readFileSync(fixture('multi.wim')))));
  return p;
}

async function failure(p: Promise<unknown>): Promise<SitecastError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SitecastError);
  return e as SitecastError;
}

const xmlOffset = (b: Buffer): number => Number(b.readBigUInt64LE(0x48 + 8));

describe('readWimMetadata on fixtures', () => {
  it('reads every field of a two-image, bootable, integrity-checked WIM', async () => {
    const m = await readWimMetadata(fixture('multi.wim'));
    expect(m.header).toMatchObject({
      magic: 'MSWIM',
      pipable: false,
      headerSize: 208,
      version: 0x10d00,
      solid: false,
      compression: 'LZX',
      chunkSize: 32768,
      partNumber: 1,
      totalParts: 1,
      imageCount: 2,
      bootIndex: 2,
      hasIntegrityTable: true,
      spanned: false,
    });
    expect(m.header.guid).toMatch(/^[0-9a-f]{32}$/);
    const [one, two] = m.images;
    expect(one).toMatchObject({
      index: 1,
      name: 'Base & <One>',
      description: 'First image',
      flags: '',
      windows: null,
    });
    expect(one!.dirCount).toBe(2);
    expect(one!.fileCount).toBe(2);
    expect(one!.totalBytes).toBe(12);
    expect(new Date(one!.creationTime!).toISOString()).toMatch(/^2026-/);
    expect(two).toMatchObject({
      index: 2,
      name: 'Pro',
      flags: 'Professional',
      displayName: 'Windows 11 Pro',
    });
    expect(two!.windows).toEqual({
      arch: 9,
      archName: 'x64',
      productName: 'Microsoft Windows Operating System',
      editionId: 'Professional',
      installationType: 'Client',
      hal: 'acpiapic',
      productType: 'WinNT',
      productSuite: 'Terminal Server',
      languages: ['en-US'],
      defaultLanguage: 'en-US',
      version: { major: 10, minor: 0, build: 22631, spBuild: 2861, spLevel: 0 },
      systemRoot: 'WINDOWS',
    });
    expect(m.xml.startsWith('<WIM><IMAGE INDEX="1">')).toBe(true);
    expect(m.totalBytes).toBeGreaterThan(0);
    expect(m.bytesRead).toBe(208 + m.xml.length * 2 + 2);
  });

  it('reads a solid WIM and warns about delta transfer', async () => {
    const m = await readWimMetadata(fixture('solid.wim'));
    expect(m.header).toMatchObject({ solid: true, compression: 'LZMS' });
    expect(m.warnings.some((w) => w.includes('delta transfer cannot help'))).toBe(true);
  });

  it('reads a pipable WIM from its last 208 bytes', async () => {
    const m = await readWimMetadata(fixture('pipable.wim'));
    expect(m.header).toMatchObject({ magic: 'WLPWM', pipable: true, compression: 'XPRESS', imageCount: 1 });
    expect(m.images[0]!.name).toBe('Piped');
  });
});

describe('readWimMetadata on files that are not readable WIMs', () => {
  const cases: readonly [string, (b: Buffer) => Buffer, string, (b: Buffer) => number][] = [
    ['not a WIM', () => Buffer.from('just some text, long enough '.repeat(20)), 'Magic', () => 0],
    ['truncated header', (b) => b.subarray(0, 100), 'Header', () => 0],
    ['header size 200', (b) => (b.writeUInt32LE(200, 8), b), 'HeaderSize', () => 8],
    ['compressed XML', (b) => ((b[0x48 + 7] = 0x06), b), 'XmlData.Flags', () => 0x4f],
    [
      'XML beyond EOF',
      (b) => (b.writeBigUInt64LE(BigInt(b.length - 10), 0x50), b),
      'XmlData.Offset',
      () => 0x50,
    ],
    ['truncated file', (b) => b.subarray(0, b.length - 300), 'Integrity.Offset', () => 0x84],
    ['image count 3', (b) => (b.writeUInt32LE(3, 0x2c), b), 'XML IMAGE', xmlOffset],
    ['boot index past images', (b) => (b.writeUInt32LE(7, 0x78), b), 'BootIndex', () => 0x78],
    ['part 2 of 1', (b) => (b.writeUInt16LE(2, 0x28), b), 'PartNumber', () => 0x28],
    [
      'XML that does not parse',
      (b) => (b.write('Q', xmlOffset(b) + 2 + 8, 'utf16le'), b), // turns "<WIM><IMAGE" into "<WIM><QMAGE"
      'XML',
      xmlOffset,
    ],
  ];
  it.each(cases)('%s: INVALID_PARAMETER naming the field and offset', async (name, edit, field, offset) => {
    const original = Buffer.from(readFileSync(fixture('multi.wim')));
    const p = broken(`${name.replace(/\W/g, '_')}.wim`, edit);
    const e = await failure(readWimMetadata(p));
    expect(e.code).toBe('INVALID_PARAMETER');
    expect(e.details).toMatchObject({
      field: 'SourceImagePath',
      wimField: field,
      offset: offset(original),
      path: p,
    });
    expect(e.message).toContain(field);
    expect(e.message).toContain(`0x${offset(original).toString(16)}`);
  });

  it('rejects an XML resource larger than maxXmlBytes', async () => {
    const e = await failure(readWimMetadata(fixture('multi.wim'), { maxXmlBytes: 100 }));
    expect(e.details).toMatchObject({ wimField: 'XmlData.Size' });
  });

  it('reports a missing file, a directory and a cancelled read', async () => {
    expect((await failure(readWimMetadata(join(dir, 'nope.wim')))).code).toBe('SOURCE_NOT_FOUND');
    expect((await failure(readWimMetadata(dir))).code).toBe('INVALID_PARAMETER');
    const p = join(dir, 'copy.wim');
    copyFileSync(fixture('multi.wim'), p);
    expect((await failure(readWimMetadata(p, { signal: AbortSignal.abort() }))).code).toBe('CANCELLED');
  });
});

describe('parseWimHeader and parseWimXml', () => {
  it('parses a header buffer without I/O', () => {
    const b = readFileSync(fixture('solid.wim'));
    expect(parseWimHeader(b.subarray(0, 208), b.length)).toMatchObject({
      version: 0xe00,
      compression: 'LZMS',
    });
  });

  it('refuses DOCTYPE/ENTITY declarations (no entity expansion)', () => {
    const bomb = '<!DOCTYPE WIM [<!ENTITY a "aaaa">]><WIM><TOTALBYTES>&a;</TOTALBYTES></WIM>';
    expect(() => parseWimXml(bomb, 0)).toThrow(/DOCTYPE/);
  });

  it('requires images numbered 1..n and numeric counts', () => {
    expect(() => parseWimXml('<WIM><IMAGE INDEX="2"><NAME>x</NAME></IMAGE></WIM>', 1)).toThrow(/@INDEX/);
    expect(() => parseWimXml('<WIM><IMAGE INDEX="1"><DIRCOUNT>12a</DIRCOUNT></IMAGE></WIM>', 1)).toThrow(
      /DIRCOUNT/,
    );
    expect(
      parseWimXml('<WIM><IMAGE INDEX="1"><NAME>a&#x263A;&lt;</NAME></IMAGE></WIM>', 1).images[0]!.name,
    ).toBe('a\u263a<');
  });
});
