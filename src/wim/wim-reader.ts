import { open } from 'node:fs/promises';
import { isSitecastError, SitecastError, toSitecastError } from '../kernel/index.js';
import { wimError, WIM_FIELD } from './wim-error.js';
import type { WimHeader } from './wim-header.js';
import { checkXmlResource, parseWimHeaderDetailed, WIM_HEADER_SIZE } from './wim-header.js';
import type { WimImage } from './wim-xml.js';
import { parseWimXml } from './wim-xml.js';

export interface WimMetadata {
  readonly path: string;
  readonly fileSize: number;
  readonly header: WimHeader;
  /** The WIM-level TOTALBYTES of the XML, when present. */
  readonly totalBytes: number | null;
  readonly images: readonly WimImage[];
  /** The XML resource as UTF-8 text (what ImageProperty holds). */
  readonly xml: string;
  /** Things an admin should know, e.g. that delta transfer cannot help a solid WIM. */
  readonly warnings: readonly string[];
  /** Bytes the reader read from the file. */
  readonly bytesRead: number;
}

export interface ReadWimOptions {
  readonly signal?: AbortSignal;
  /** Largest XML resource accepted (default 64 MiB). */
  readonly maxXmlBytes?: number;
}

export const DEFAULT_MAX_XML_BYTES = 64 * 1024 * 1024;

/** Random access to the bytes of a WIM: a file, or a buffer in tests. Returns fewer bytes only at EOF. */
export interface WimByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

const utf16 = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true });

function warningsFor(header: WimHeader): string[] {
  const w: string[] = [];
  if (header.solid || header.compression === 'LZMS') {
    w.push(
      'solid (LZMS) WIM: one change recompresses whole solid blocks, so delta transfer cannot help; ' +
        'every refresh sends nearly the whole file to distribution points',
    );
  }
  if (header.totalParts > 1) {
    w.push(
      `split WIM: this is part ${header.partNumber} of ${header.totalParts}; deploying needs every part`,
    );
  }
  if (header.pipable) w.push('pipable WIM (wimlib): Microsoft tools (DISM, WIMGAPI) cannot read it');
  return w;
}

/** The reader proper, over any byte source: two or three reads, whatever the file size. */
export async function readWimFrom(
  source: WimByteSource,
  path: string,
  options: ReadWimOptions = {},
): Promise<WimMetadata> {
  const maxXmlBytes = options.maxXmlBytes ?? DEFAULT_MAX_XML_BYTES;
  let bytesRead = 0;
  const read = async (offset: number, length: number): Promise<Buffer> => {
    options.signal?.throwIfAborted();
    const b = await source.read(offset, length);
    bytesRead += b.length;
    return b;
  };
  try {
    const fileSize = source.size;
    const first = await read(0, WIM_HEADER_SIZE);
    let parsed = parseWimHeaderDetailed(first, fileSize);
    let headerBase = 0;
    if (parsed.header.pipable) {
      // wimlib writes a placeholder header first and the real one, also WLPWM, as the file's last 208 bytes.
      headerBase = fileSize - WIM_HEADER_SIZE;
      if (headerBase < WIM_HEADER_SIZE) {
        throw wimError('Header', fileSize, 'pipable WIM too short to hold its end header');
      }
      parsed = parseWimHeaderDetailed(await read(headerBase, WIM_HEADER_SIZE), fileSize, headerBase);
      if (!parsed.header.pipable)
        throw wimError('Magic', headerBase, 'the end header of a pipable WIM is not WLPWM');
    }
    checkXmlResource(parsed, fileSize, maxXmlBytes, headerBase);
    const { xml: res, header } = parsed;
    const raw = await read(res.offset, res.storedSize);
    if (raw.length !== res.storedSize) {
      throw wimError('XmlData', res.offset, `truncated: ${raw.length} of ${res.storedSize} bytes`);
    }
    if (raw[0] !== 0xff || raw[1] !== 0xfe) {
      throw wimError('XmlData', res.offset, 'no UTF-16LE byte-order mark (FF FE)');
    }
    let xml: string;
    try {
      xml = utf16.decode(raw.subarray(2));
    } catch {
      throw wimError('XmlData', res.offset, 'not valid UTF-16LE');
    }
    options.signal?.throwIfAborted();
    let parsedXml: ReturnType<typeof parseWimXml>;
    try {
      parsedXml = parseWimXml(xml, header.imageCount);
    } catch (e) {
      const { wimField, problem } = isSitecastError(e) ? e.details : {};
      if (typeof wimField === 'string' && typeof problem === 'string')
        throw wimError(wimField, res.offset, problem);
      throw e;
    }
    return {
      path,
      fileSize,
      header,
      totalBytes: parsedXml.totalBytes,
      images: parsedXml.images,
      xml,
      warnings: warningsFor(header),
      bytesRead,
    };
  } catch (e) {
    if (e instanceof SitecastError) {
      if (e.code !== 'INVALID_PARAMETER' || e.details.path !== undefined) throw e;
      throw new SitecastError(
        'INVALID_PARAMETER',
        `${path}: ${e.message}`,
        { ...e.details, path },
        { cause: e },
      );
    }
    if (options.signal?.aborted) {
      throw new SitecastError('CANCELLED', `reading WIM ${path}: cancelled`, { path }, { cause: e });
    }
    const err = toSitecastError(e, `reading WIM ${path}`);
    throw err.code === 'FAILED'
      ? new SitecastError('INVALID_PARAMETER', err.message, { field: WIM_FIELD, path }, { cause: e })
      : err;
  }
}

/**
 * Reads a WIM's header and XML only: no decompression, constant memory, a few reads. Errors: SitecastError
 * INVALID_PARAMETER (field 'SourceImagePath', details.wimField/offset name what is wrong and where);
 * SOURCE_NOT_FOUND / SOURCE_ACCESS_DENIED for the file; CANCELLED when the signal fires.
 */
export async function readWimMetadata(path: string, options: ReadWimOptions = {}): Promise<WimMetadata> {
  if (options.signal?.aborted)
    throw new SitecastError('CANCELLED', `reading WIM ${path}: cancelled`, { path });
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw toSitecastError(e, `opening WIM ${path}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new SitecastError('INVALID_PARAMETER', `${path} is not a file`, { field: WIM_FIELD, path });
    }
    const handle = fh;
    const source: WimByteSource = {
      size: st.size,
      async read(offset, length) {
        const buf = Buffer.alloc(Math.max(0, Math.min(length, st.size - offset)));
        let done = 0;
        while (done < buf.length) {
          const { bytesRead } = await handle.read(buf, done, buf.length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buf.subarray(0, done);
      },
    };
    return await readWimFrom(source, path, options);
  } finally {
    await fh.close();
  }
}
