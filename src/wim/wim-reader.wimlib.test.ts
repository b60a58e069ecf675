/**
 * Real WIMs made by wimlib-imagex, one per variant the issue names; every field the reader reports must
 * equal what `wimlib-imagex info`, `info --header` and `info --xml` print for the same file.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WimMetadata } from './index.js';
import { readWimMetadata } from './index.js';
import {
  hasWimlib,
  info,
  infoHeader,
  infoXml,
  wimlib,
  xmlImages,
  xmlText,
} from './wimlib-cli.test-helpers.js';

const available = hasWimlib();
if (!available) {
  if (process.env['CI'] === 'true')
    throw new Error('wimlib-imagex is missing (install wimtools); required in CI');
  console.warn('skipping wimlib comparison tests: wimlib-imagex not found (apt-get install wimtools)');
}

const WIMLIB_ARCH: Readonly<Record<string, string>> = {
  x86: 'x86',
  ARM: 'ARM',
  IA64: 'IA64',
  x86_64: 'x64',
  ARM64: 'ARM64',
};
const WIMLIB_COMPRESSION: Readonly<Record<string, string>> = {
  None: 'none',
  XPRESS: 'XPRESS',
  LZX: 'LZX',
  LZMS: 'LZMS',
};

let dir = '';
let tree = '';

function expectSameAsWimlib(path: string, m: WimMetadata): void {
  const h = infoHeader(path);
  const { wim, images } = info(path);
  expect(m.header.magic).toBe(h['Magic Characters']!.slice(0, 5));
  expect(m.header.headerSize).toBe(Number(h['Header Size']));
  expect(m.header.version).toBe(Number(h['Version']));
  expect(m.header.flags).toBe(Number(h['Flags']));
  expect(m.header.chunkSize).toBe(Number(h['Chunk Size']));
  expect(m.header.guid).toBe(h['GUID']);
  expect(`0x${m.header.guid}`).toBe(wim['GUID']);
  expect(m.header.partNumber).toBe(Number(h['Part Number']));
  expect(m.header.totalParts).toBe(Number(h['Total Parts']));
  expect(`${m.header.partNumber}/${m.header.totalParts}`).toBe(wim['Part Number']);
  expect(m.header.imageCount).toBe(Number(h['Image Count']));
  expect(m.header.bootIndex).toBe(Number(h['Boot Index']));
  expect(m.header.hasIntegrityTable).toBe(Number(h['Integrity Size']) > 0);
  expect(m.header.hasIntegrityTable).toBe((wim['Attributes'] ?? '').includes('Integrity info'));
  expect(m.header.spanned).toBe((Number(h['Flags']) & 0x8) !== 0);
  expect(m.header.compression).toBe(WIMLIB_COMPRESSION[wim['Compression']!]);
  expect(m.fileSize).toBe(statSync(path).size);

  const xml = infoXml(path);
  expect(m.xml).toBe(xml);
  expect(m.totalBytes).toBe(Number(xmlText(xml.replace(/<IMAGE [\s\S]*?<\/IMAGE>/g, ''), 'WIM/TOTALBYTES')));
  expect(`${m.totalBytes} bytes`).toBe(wim['Size']);
  const fragments = xmlImages(xml);
  expect(m.images).toHaveLength(images.length);
  m.images.forEach((img, i) => {
    const t = images[i]!;
    const x = fragments[i]!;
    expect(img.index).toBe(Number(t['Index']));
    expect(img.name).toBe(t['Name']);
    expect(img.description).toBe(t['Description'] ?? '');
    expect(img.displayName).toBe(t['Display Name'] ?? '');
    expect(img.displayDescription).toBe(t['Display Description'] ?? '');
    expect(img.flags).toBe(t['Flags'] ?? '');
    expect(img.dirCount).toBe(Number(t['Directory Count']));
    expect(img.fileCount).toBe(Number(t['File Count']));
    expect(img.totalBytes).toBe(Number(t['Total Bytes']));
    expect(img.hardLinkBytes).toBe(Number(t['Hard Link Bytes']));
    expect(Math.floor(img.creationTime! / 1000) * 1000).toBe(Date.parse(t['Creation Time']!));
    expect(Math.floor(img.lastModificationTime! / 1000) * 1000).toBe(
      Date.parse(t['Last Modification Time']!),
    );
    if (!x.includes('<WINDOWS>')) {
      expect(img.windows).toBeNull();
      return;
    }
    const w = img.windows!;
    expect(w.archName).toBe(t['Architecture'] ? WIMLIB_ARCH[t['Architecture']] : null);
    expect(w.arch).toBe(Number(xmlText(x, 'WINDOWS/ARCH')));
    expect(w.productName).toBe(xmlText(x, 'WINDOWS/PRODUCTNAME') ?? '');
    expect(w.editionId).toBe(xmlText(x, 'WINDOWS/EDITIONID') ?? '');
    expect(w.installationType).toBe(xmlText(x, 'WINDOWS/INSTALLATIONTYPE') ?? '');
    expect(w.hal).toBe(xmlText(x, 'WINDOWS/HAL') ?? '');
    expect(w.productType).toBe(xmlText(x, 'WINDOWS/PRODUCTTYPE') ?? '');
    expect(w.productSuite).toBe(xmlText(x, 'WINDOWS/PRODUCTSUITE') ?? '');
    expect(w.systemRoot).toBe(xmlText(x, 'WINDOWS/SYSTEMROOT') ?? '');
    expect(w.languages.join(' ')).toBe(t['Languages'] ?? '');
    expect(w.defaultLanguage).toBe(t['Default Language'] ?? '');
    expect(w.version).toEqual({
      major: Number(t['Major Version']),
      minor: Number(t['Minor Version']),
      build: Number(t['Build']),
      spBuild: Number(t['Service Pack Build']),
      spLevel: Number(t['Service Pack Level']),
    });
  });
}

async function readAndCompare(path: string): Promise<WimMetadata> {
  const m = await readWimMetadata(path);
  expectSameAsWimlib(path, m);
  expect(m.bytesRead).toBeLessThanOrEqual(208 * 2 + m.xml.length * 2 + 2);
  return m;
}

describe.skipIf(!available)('readWimMetadata against wimlib-imagex', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sitecast-wim-'));
    tree = join(dir, 'tree');
    mkdirSync(join(tree, 'Windows', 'System32'), { recursive: true });
    writeFileSync(join(tree, 'Windows', 'System32', 'config.txt'), 'config\n');
    writeFileSync(join(tree, 'readme.txt'), 'hello\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a multi-image WIM with FLAGS and every WINDOWS property set by --image-property', async () => {
    const p = join(dir, 'multi.wim');
    wimlib(['capture', tree, p, 'Base & <One>', 'First "image"']);
    wimlib(['append', tree, p, 'Pro', 'Second', '--flags=Professional']);
    wimlib(['append', tree, p, 'Arm', 'Third', '--flags=Enterprise']);
    const props: Record<string, string> = {
      'WINDOWS/ARCH': '9',
      'WINDOWS/PRODUCTNAME': 'Microsoft Windows Operating System',
      'WINDOWS/EDITIONID': 'Professional',
      'WINDOWS/INSTALLATIONTYPE': 'Client',
      'WINDOWS/HAL': 'acpiapic',
      'WINDOWS/PRODUCTTYPE': 'WinNT',
      'WINDOWS/PRODUCTSUITE': 'Terminal Server',
      'WINDOWS/LANGUAGES/LANGUAGE': 'de-DE',
      'WINDOWS/LANGUAGES/DEFAULT': 'de-DE',
      'WINDOWS/VERSION/MAJOR': '10',
      'WINDOWS/VERSION/MINOR': '0',
      'WINDOWS/VERSION/BUILD': '22631',
      'WINDOWS/VERSION/SPBUILD': '2861',
      'WINDOWS/VERSION/SPLEVEL': '0',
      'WINDOWS/SYSTEMROOT': 'WINDOWS',
      DISPLAYNAME: 'Windows 11 Pro',
      DISPLAYDESCRIPTION: 'Pro edition',
    };
    wimlib(['info', p, '2', ...Object.entries(props).flatMap(([k, v]) => ['--image-property', `${k}=${v}`])]);
    wimlib([
      'info',
      p,
      '3',
      '--image-property',
      'WINDOWS/ARCH=12',
      '--image-property',
      'WINDOWS/VERSION/BUILD=26100',
    ]);
    const m = await readAndCompare(p);
    expect(m.images.map((i) => i.name)).toEqual(['Base & <One>', 'Pro', 'Arm']);
    expect(m.images[1]!.windows).toMatchObject({
      arch: 9,
      archName: 'x64',
      editionId: 'Professional',
      languages: ['de-DE'],
    });
    expect(m.images[1]!.displayDescription).toBe('Pro edition');
    expect(m.images[2]!.windows?.archName).toBe('ARM64');
    expect(m.warnings).toEqual([]);
  });

  it('reads a bootable, integrity-checked WIM', async () => {
    const p = join(dir, 'boot.wim');
    wimlib(['capture', tree, p, 'One', '--check']);
    wimlib(['append', tree, p, 'Boot', '--boot', '--check']);
    const m = await readAndCompare(p);
    expect(m.header).toMatchObject({ bootIndex: 2, hasIntegrityTable: true });
  });

  it.each(['none', 'XPRESS', 'LZX'] as const)('reads a --compress=%s WIM', async (c) => {
    const p = join(dir, `c-${c}.wim`);
    wimlib(['capture', tree, p, `C ${c}`, `--compress=${c}`]);
    const m = await readAndCompare(p);
    expect(m.header.compression).toBe(c);
  });

  it('reads a solid WIM and warns that delta transfer cannot help', async () => {
    const p = join(dir, 'solid.wim');
    wimlib(['capture', tree, p, 'Solid', '--solid']);
    const m = await readAndCompare(p);
    expect(m.header).toMatchObject({ solid: true, compression: 'LZMS', version: 0xe00 });
    expect(m.warnings.join('\n')).toMatch(/delta transfer cannot help/);
  });

  it('reads a pipable WIM from its end header', async () => {
    const p = join(dir, 'pipe.wim');
    wimlib(['capture', tree, p, 'Piped', 'Through a pipe', '--pipable']);
    wimlib(['append', tree, p, 'Piped 2', '--pipable']);
    const m = await readAndCompare(p);
    expect(m.header).toMatchObject({ magic: 'WLPWM', pipable: true, imageCount: 2 });
    expect(m.bytesRead).toBeLessThan(3 * 208 + m.xml.length * 2 + 2);
  });

  it('reads part 1 of a split .swm set and reports the set', async () => {
    const big = join(dir, 'bigtree');
    mkdirSync(big);
    writeFileSync(join(big, 'random.bin'), randomBytes(1_600_000));
    const whole = join(dir, 'whole.wim');
    wimlib(['capture', big, whole, 'Split me', '--compress=none']);
    const swm = join(dir, 'set.swm');
    wimlib(['split', whole, swm, '1']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.swm')).length).toBeGreaterThan(1);
    const m = await readAndCompare(swm);
    expect(m.header).toMatchObject({ partNumber: 1, spanned: true });
    expect(m.header.totalParts).toBeGreaterThan(1);
    expect(m.warnings.join('\n')).toMatch(/part 1 of \d/);
  });
});
