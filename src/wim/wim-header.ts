import { wimError } from './wim-error.js';

/** The 208-byte WIM header, as `wimlib-imagex info --header` reports it. */
export interface WimHeader {
  readonly magic: 'MSWIM' | 'WLPWM';
  readonly pipable: boolean;
  readonly headerSize: number;
  readonly version: number;
  readonly solid: boolean;
  readonly flags: number;
  readonly compression: 'none' | 'XPRESS' | 'LZX' | 'LZMS';
  readonly chunkSize: number;
  /** 32 hex digits, byte order as stored (as wimlib prints it). */
  readonly guid: string;
  readonly partNumber: number;
  readonly totalParts: number;
  readonly imageCount: number;
  readonly bootIndex: number;
  readonly hasIntegrityTable: boolean;
  readonly spanned: boolean;
}

/** A 24-byte resource header (stored size, flags, offset, original size). */
export interface WimResourceEntry {
  readonly storedSize: number;
  readonly flags: number;
  readonly offset: number;
  readonly originalSize: number;
}

export interface ParsedWimHeader {
  readonly header: WimHeader;
  readonly xml: WimResourceEntry;
  readonly integrity: WimResourceEntry;
}

export const WIM_HEADER_SIZE = 208;
export const WIM_VERSION_SOLID = 0xe00;

const HeaderFlag = {
  compressed: 0x2,
  spanned: 0x8,
  xpress: 0x20000,
  lzx: 0x40000,
  lzms: 0x80000,
} as const;

export const ResourceFlag = { compressed: 0x4 } as const;

const Offset = {
  magic: 0x00,
  headerSize: 0x08,
  version: 0x0c,
  flags: 0x10,
  chunkSize: 0x14,
  guid: 0x18,
  partNumber: 0x28,
  totalParts: 0x2a,
  imageCount: 0x2c,
  xml: 0x48,
  bootIndex: 0x78,
  integrity: 0x7c,
} as const;

function readResource(buf: Buffer, o: number, name: string, base: number): WimResourceEntry {
  // 56-bit size: beyond 2^53 it is absurd for any file, and comparisons with the file size still hold.
  const storedSize = buf.readUIntLE(o, 6) + buf[o + 6]! * 2 ** 48;
  const offset = buf.readBigUInt64LE(o + 8);
  const originalSize = buf.readBigUInt64LE(o + 16);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw wimError(`${name}.Offset`, base + o + 8, `offset ${offset} is absurd`);
  }
  if (originalSize > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw wimError(`${name}.OriginalSize`, base + o + 16, `size ${originalSize} is absurd`);
  }
  return { storedSize, flags: buf[o + 7]!, offset: Number(offset), originalSize: Number(originalSize) };
}

function compressionOf(flags: number, base: number): WimHeader['compression'] {
  if ((flags & HeaderFlag.compressed) === 0) return 'none';
  const kinds = (
    [
      [HeaderFlag.xpress, 'XPRESS'],
      [HeaderFlag.lzx, 'LZX'],
      [HeaderFlag.lzms, 'LZMS'],
    ] as const
  ).filter(([bit]) => (flags & bit) !== 0);
  if (kinds.length !== 1) {
    throw wimError(
      'Flags',
      base + Offset.flags,
      `compressed flag set with ${kinds.length === 0 ? 'no known' : 'several'} compression types (0x${flags.toString(16)})`,
    );
  }
  return kinds[0]![1];
}

/**
 * Parses one 208-byte header (a pipable WIM has a placeholder at 0 and the real one in its last 208 bytes).
 * `base` is where `buf` sits in the file, for the offsets errors report.
 */
export function parseWimHeaderDetailed(buf: Buffer, fileSize: number, base = 0): ParsedWimHeader {
  if (buf.length < WIM_HEADER_SIZE) {
    throw wimError(
      'Header',
      base,
      `truncated: ${buf.length} bytes where the header needs ${WIM_HEADER_SIZE}`,
    );
  }
  const magicText = buf.toString('latin1', 0, 8);
  if (magicText !== 'MSWIM\0\0\0' && magicText !== 'WLPWM\0\0\0') {
    throw wimError(
      'Magic',
      base + Offset.magic,
      `expected "MSWIM" or "WLPWM", found ${JSON.stringify(magicText)}`,
    );
  }
  const magic = magicText.slice(0, 5) as WimHeader['magic'];
  const headerSize = buf.readUInt32LE(Offset.headerSize);
  if (headerSize !== WIM_HEADER_SIZE) {
    throw wimError('HeaderSize', base + Offset.headerSize, `is ${headerSize}, expected ${WIM_HEADER_SIZE}`);
  }
  const version = buf.readUInt32LE(Offset.version);
  const flags = buf.readUInt32LE(Offset.flags);
  const compression = compressionOf(flags, base);
  const chunkSize = buf.readUInt32LE(Offset.chunkSize);
  if (
    compression !== 'none' &&
    (chunkSize < 4096 || chunkSize > 1 << 30 || (chunkSize & (chunkSize - 1)) !== 0)
  ) {
    throw wimError(
      'ChunkSize',
      base + Offset.chunkSize,
      `${chunkSize} is not a power of two in 4 KiB..1 GiB`,
    );
  }
  const partNumber = buf.readUInt16LE(Offset.partNumber);
  const totalParts = buf.readUInt16LE(Offset.totalParts);
  if (totalParts === 0) throw wimError('TotalParts', base + Offset.totalParts, 'is 0');
  if (partNumber === 0 || partNumber > totalParts) {
    throw wimError('PartNumber', base + Offset.partNumber, `part ${partNumber} of ${totalParts}`);
  }
  const imageCount = buf.readUInt32LE(Offset.imageCount);
  const bootIndex = buf.readUInt32LE(Offset.bootIndex);
  if (bootIndex > imageCount) {
    throw wimError(
      'BootIndex',
      base + Offset.bootIndex,
      `${bootIndex} but the WIM has ${imageCount} image(s)`,
    );
  }
  const xml = readResource(buf, Offset.xml, 'XmlData', base);
  const integrity = readResource(buf, Offset.integrity, 'Integrity', base);
  if (integrity.storedSize !== 0 && integrity.offset + integrity.storedSize > fileSize) {
    throw wimError(
      'Integrity.Offset',
      base + Offset.integrity + 8,
      `table ends past the end of the file (${fileSize} bytes)`,
    );
  }
  const header: WimHeader = {
    magic,
    pipable: magic === 'WLPWM',
    headerSize,
    version,
    solid: version === WIM_VERSION_SOLID,
    flags,
    compression,
    chunkSize,
    guid: buf.toString('hex', Offset.guid, Offset.guid + 16),
    partNumber,
    totalParts,
    imageCount,
    bootIndex,
    hasIntegrityTable: integrity.storedSize !== 0,
    spanned: (flags & HeaderFlag.spanned) !== 0,
  };
  return { header, xml, integrity };
}

/** Parses and checks a WIM header (pure: no I/O). Throws SitecastError INVALID_PARAMETER on anything odd. */
export function parseWimHeader(buf: Buffer, fileSize: number): WimHeader {
  return parseWimHeaderDetailed(buf, fileSize).header;
}

/** Where the XML resource may lie: after the header, and before the end header of a pipable WIM. */
export function checkXmlResource(
  parsed: ParsedWimHeader,
  fileSize: number,
  maxXmlBytes: number,
  headerBase: number,
): void {
  const { xml, header } = parsed;
  const at = headerBase + Offset.xml;
  if ((xml.flags & ResourceFlag.compressed) !== 0) {
    throw wimError(
      'XmlData.Flags',
      at + 7,
      'the XML data is compressed; sitecast reads only uncompressed XML',
    );
  }
  if (xml.storedSize === 0) throw wimError('XmlData.Size', at, 'the WIM has no XML data');
  if (xml.storedSize > maxXmlBytes) {
    throw wimError('XmlData.Size', at, `${xml.storedSize} bytes is over the ${maxXmlBytes}-byte limit`);
  }
  if (xml.storedSize !== xml.originalSize) {
    throw wimError(
      'XmlData.OriginalSize',
      at + 16,
      `${xml.originalSize} differs from the stored size ${xml.storedSize}`,
    );
  }
  if (xml.storedSize % 2 !== 0)
    throw wimError('XmlData.Size', at, `${xml.storedSize} is odd; UTF-16 needs pairs`);
  const end = header.pipable ? fileSize - WIM_HEADER_SIZE : fileSize;
  if (xml.offset < WIM_HEADER_SIZE || xml.offset + xml.storedSize > end) {
    throw wimError(
      'XmlData.Offset',
      at + 8,
      `bytes ${xml.offset}..${xml.offset + xml.storedSize} lie outside the file's data (${WIM_HEADER_SIZE}..${end})`,
    );
  }
}
