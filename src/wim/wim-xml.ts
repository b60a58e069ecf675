import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { wimError } from './wim-error.js';

/** One image of a WIM, from its `<IMAGE INDEX="n">` element. */
export interface WimImage {
  readonly index: number;
  readonly name: string;
  readonly description: string;
  readonly displayName: string;
  readonly displayDescription: string;
  /** FLAGS: the edition id (e.g. "Professional"). */
  readonly flags: string;
  readonly dirCount: number;
  readonly fileCount: number;
  readonly totalBytes: number;
  readonly hardLinkBytes: number;
  /** Epoch ms. */
  readonly creationTime: number | null;
  readonly lastModificationTime: number | null;
  readonly windows: WimWindowsInfo | null;
}

export interface WimWindowsInfo {
  readonly arch: number | null;
  /** x86, ARM, IA64, x64, ARM64; null for an unknown or missing ARCH. */
  readonly archName: string | null;
  readonly productName: string;
  readonly editionId: string;
  readonly installationType: string;
  readonly hal: string;
  readonly productType: string;
  readonly productSuite: string;
  readonly languages: readonly string[];
  readonly defaultLanguage: string;
  readonly version: { major: number; minor: number; build: number; spBuild: number; spLevel: number } | null;
  readonly systemRoot: string;
}

export const ARCH_NAMES: Readonly<Record<number, string>> = {
  0: 'x86',
  5: 'ARM',
  6: 'IA64',
  9: 'x64',
  12: 'ARM64',
};

/** 100 ns ticks between 1601-01-01 and 1970-01-01, in ms. */
const FILETIME_UNIX_EPOCH_MS = 11_644_473_600_000n;

// The XML is untrusted: no DOCTYPE, no entity expansion (only the five predefined entities and character
// references are decoded, by hand), values kept as strings so numbers are checked here.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  isArray: (_name, jpath) => jpath === 'WIM.IMAGE' || jpath === 'WIM.IMAGE.WINDOWS.LANGUAGES.LANGUAGE',
});

type Node = Readonly<Record<string, unknown>>;

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string, field: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(cp >= 0 && cp <= 0x10ffff)) throw wimError(`XML ${field}`, 0, `bad character reference ${whole}`);
      return String.fromCodePoint(cp);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw wimError(`XML ${field}`, 0, `unknown entity ${whole}`);
    return v;
  });
}

function child(node: unknown, key: string): unknown {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const v = Object.hasOwn(node, key) ? (node as Node)[key] : undefined;
  // A repeated element: the first one wins, as in wimlib.
  return Array.isArray(v) ? v[0] : v;
}

/** Text of an element; '' when absent; an element with children where text belongs is an error. */
function text(node: unknown, key: string, field: string): string {
  const v = child(node, key);
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return decodeEntities(v, field);
  if (typeof v === 'object' && Object.keys(v).every((k) => k === '#text' || k.startsWith('@_'))) {
    const t = (v as Node)['#text'];
    return typeof t === 'string' ? decodeEntities(t, field) : '';
  }
  throw wimError(`XML ${field}`, 0, 'holds elements where text belongs');
}

function integer(node: unknown, key: string, field: string, radix: 10 | 16 = 10): number | null {
  const s = text(node, key, field);
  if (s === '') return null;
  const ok = radix === 16 ? /^(0x)?[0-9a-fA-F]{1,16}$/i.test(s) : /^[0-9]{1,16}$/.test(s);
  const n = radix === 16 ? Number.parseInt(s.replace(/^0x/i, ''), 16) : Number(s);
  if (!ok || !Number.isSafeInteger(n))
    throw wimError(`XML ${field}`, 0, `${JSON.stringify(s)} is not a number`);
  return n;
}

function fileTime(node: unknown, key: string, field: string): number | null {
  const t = child(node, key);
  if (t === undefined) return null;
  const high = integer(t, 'HIGHPART', `${field}/HIGHPART`, 16);
  const low = integer(t, 'LOWPART', `${field}/LOWPART`, 16);
  if (high === null || low === null) return null;
  if (high > 0xffffffff || low > 0xffffffff) throw wimError(`XML ${field}`, 0, 'part exceeds 32 bits');
  const ticks = (BigInt(high) << 32n) | BigInt(low);
  return Number(ticks / 10_000n - FILETIME_UNIX_EPOCH_MS);
}

function windowsOf(image: unknown, f: string): WimWindowsInfo | null {
  const w = child(image, 'WINDOWS');
  if (w === undefined) return null;
  const arch = integer(w, 'ARCH', `${f}/WINDOWS/ARCH`);
  const langs = child(w, 'LANGUAGES');
  const langList = (langs && typeof langs === 'object' ? (langs as Node)['LANGUAGE'] : undefined) ?? [];
  const v = child(w, 'VERSION');
  const num = (k: string): number => integer(v, k, `${f}/WINDOWS/VERSION/${k}`) ?? 0;
  return {
    arch,
    archName: arch === null ? null : (ARCH_NAMES[arch] ?? null),
    productName: text(w, 'PRODUCTNAME', `${f}/WINDOWS/PRODUCTNAME`),
    editionId: text(w, 'EDITIONID', `${f}/WINDOWS/EDITIONID`),
    installationType: text(w, 'INSTALLATIONTYPE', `${f}/WINDOWS/INSTALLATIONTYPE`),
    hal: text(w, 'HAL', `${f}/WINDOWS/HAL`),
    productType: text(w, 'PRODUCTTYPE', `${f}/WINDOWS/PRODUCTTYPE`),
    productSuite: text(w, 'PRODUCTSUITE', `${f}/WINDOWS/PRODUCTSUITE`),
    languages: (Array.isArray(langList) ? (langList as unknown[]) : []).map((l) =>
      text({ L: l }, 'L', `${f}/WINDOWS/LANGUAGES/LANGUAGE`),
    ),
    defaultLanguage: text(langs, 'DEFAULT', `${f}/WINDOWS/LANGUAGES/DEFAULT`),
    version:
      v === undefined
        ? null
        : {
            major: num('MAJOR'),
            minor: num('MINOR'),
            build: num('BUILD'),
            spBuild: num('SPBUILD'),
            spLevel: num('SPLEVEL'),
          },
    systemRoot: text(w, 'SYSTEMROOT', `${f}/WINDOWS/SYSTEMROOT`),
  };
}

/**
 * Parses the WIM XML (already decoded from UTF-16LE, BOM removed). Images must be INDEX 1..n in order and
 * n must equal the header's image count. Errors are INVALID_PARAMETER naming the XML element; their offset
 * is 0 here (the reader rewrites it to the XML resource's offset in the file).
 */
export function parseWimXml(
  xmlUtf8: string,
  expectedImageCount: number,
): { totalBytes: number | null; images: WimImage[] } {
  if (/<!DOCTYPE|<!ENTITY/i.test(xmlUtf8))
    throw wimError('XML', 0, 'a DOCTYPE/ENTITY declaration is not allowed');
  const valid = XMLValidator.validate(xmlUtf8);
  if (valid !== true) {
    throw wimError(
      'XML',
      0,
      `does not parse: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
    );
  }
  const doc: unknown = parser.parse(xmlUtf8);
  const wim = child(doc, 'WIM');
  if (wim === undefined || wim === null || typeof wim !== 'object')
    throw wimError('XML', 0, 'no <WIM> root element');
  const rawImages = Object.hasOwn(wim, 'IMAGE') ? (wim as Node)['IMAGE'] : [];
  const list = Array.isArray(rawImages) ? (rawImages as unknown[]) : [];
  if (list.length !== expectedImageCount) {
    throw wimError(
      'XML IMAGE',
      0,
      `${list.length} <IMAGE> element(s) but the header's ImageCount is ${expectedImageCount}`,
    );
  }
  const images = list.map((image, i): WimImage => {
    const f = `IMAGE[${i + 1}]`;
    const attr = image && typeof image === 'object' ? (image as Node)['@_INDEX'] : undefined;
    if (attr !== String(i + 1)) {
      throw wimError(
        `XML ${f}/@INDEX`,
        0,
        `is ${JSON.stringify(attr ?? null)}; images must be numbered 1..${list.length} in order`,
      );
    }
    return {
      index: i + 1,
      name: text(image, 'NAME', `${f}/NAME`),
      description: text(image, 'DESCRIPTION', `${f}/DESCRIPTION`),
      displayName: text(image, 'DISPLAYNAME', `${f}/DISPLAYNAME`),
      displayDescription: text(image, 'DISPLAYDESCRIPTION', `${f}/DISPLAYDESCRIPTION`),
      flags: text(image, 'FLAGS', `${f}/FLAGS`),
      dirCount: integer(image, 'DIRCOUNT', `${f}/DIRCOUNT`) ?? 0,
      fileCount: integer(image, 'FILECOUNT', `${f}/FILECOUNT`) ?? 0,
      totalBytes: integer(image, 'TOTALBYTES', `${f}/TOTALBYTES`) ?? 0,
      hardLinkBytes: integer(image, 'HARDLINKBYTES', `${f}/HARDLINKBYTES`) ?? 0,
      creationTime: fileTime(image, 'CREATIONTIME', `${f}/CREATIONTIME`),
      lastModificationTime: fileTime(image, 'LASTMODIFICATIONTIME', `${f}/LASTMODIFICATIONTIME`),
      windows: windowsOf(image, f),
    };
  });
  return { totalBytes: integer(wim, 'TOTALBYTES', 'TOTALBYTES'), images };
}
