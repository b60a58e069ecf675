/**
 * Response bodies read from an already-open file handle, so the bytes are those of the version that was
 * opened even if the package switches (and the old tree is deleted) mid-download. Everything streams:
 * memory does not depend on the file's size or on the number of bytes asked for.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { contentRangeHeader, type ByteRange } from './content-range.js';

/** One range (or the whole file) of `handle`; the handle is closed when the stream ends or is destroyed. */
export function rangeStream(handle: FileHandle, range: ByteRange): Readable {
  return handle.createReadStream({ start: range.start, end: range.end, autoClose: true });
}

export interface MultipartBody {
  readonly contentType: string;
  readonly length: number;
  readonly stream: Readable;
}

/**
 * A `multipart/byteranges` body (RFC 9110 §14.6): each part its own Content-Type and Content-Range, parts
 * separated by CRLF `--boundary`, closed by `--boundary--`. Its exact length is known up front, so the
 * response carries Content-Length rather than chunked encoding. The handle is closed when the stream closes.
 */
export function multipartBody(
  handle: FileHandle,
  ranges: readonly ByteRange[],
  size: number,
  partType: string,
): MultipartBody {
  const boundary = `sitecast-${randomBytes(12).toString('hex')}`;
  const heads = ranges.map((range, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${partType}\r\n` +
        `Content-Range: ${contentRangeHeader(range, size)}\r\n\r\n`,
      'latin1',
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const length =
    heads.reduce((n, head) => n + head.length, 0) +
    ranges.reduce((n, r) => n + r.end - r.start + 1, 0) +
    tail.length;

  async function* parts(): AsyncGenerator<Buffer> {
    for (const [i, range] of ranges.entries()) {
      yield heads[i]!;
      const part = handle.createReadStream({ start: range.start, end: range.end, autoClose: false });
      for await (const chunk of part) yield chunk as Buffer;
    }
    yield tail;
  }
  const stream = Readable.from(parts(), { objectMode: false });
  // On 'close', not in the generator's finally: a stream destroyed before its first read never runs it.
  stream.once('close', () => void handle.close().catch(() => undefined));
  return { contentType: `multipart/byteranges; boundary=${boundary}`, length, stream };
}
