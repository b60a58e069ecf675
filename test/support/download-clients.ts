/**
 * Real HTTP download programs (curl, wget, aria2c) as child processes for end-to-end tests, and readers of
 * what they leave behind: curl's `-D` header dump and a `multipart/byteranges` body.
 */
import { execFile, execFileSync } from 'node:child_process';

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Outside programs the caller needs that are not on PATH (each probed with `--version`). */
export function missingPrograms(names: readonly string[]): string[] {
  return names.filter((name) => {
    try {
      execFileSync(name, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      return false;
    } catch {
      return true;
    }
  });
}

/** Runs `program args` to its end (60 s at most); a non-zero exit is returned, not thrown. */
export function runProgram(program: string, args: readonly string[], cwd?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024, ...(cwd && { cwd }) },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${program} ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

export interface HeaderDump {
  readonly status: number;
  /** Lower-cased names; a repeated header keeps its last value. */
  readonly headers: ReadonlyMap<string, string>;
}

/** The last response of a curl `-D` dump (earlier ones would be 1xx or redirects). */
export function parseHeaderDump(text: string): HeaderDump {
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => /^HTTP\/\S+ \d{3}/.test(b));
  const last = blocks[blocks.length - 1];
  if (last === undefined) throw new Error(`no HTTP status line in the header dump:\n${text}`);
  const [statusLine, ...lines] = last.split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(/^HTTP\/\S+ (\d{3})/.exec(statusLine!)![1]), headers };
}

export interface BodyPart {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** The parts of a `multipart/byteranges` body (RFC 9110 §14.6, RFC 2046 §5.1.1 delimiters). */
export function parseMultipart(body: Buffer, contentType: string): BodyPart[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (boundary === undefined) throw new Error(`no boundary in Content-Type ${contentType}`);
  // Every delimiter, the first included, is CRLF "--" boundary once a CRLF is put in front of the body.
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const parts: BodyPart[] = [];
  let at = text.indexOf(delimiter);
  if (at !== 0) throw new Error('the multipart body does not start with its boundary');
  for (;;) {
    const after = at + delimiter.length;
    if (text.subarray(after, after + 2).toString('latin1') === '--') return parts;
    const headersStart = text.indexOf('\r\n', after) + 2;
    const headersEnd = text.indexOf('\r\n\r\n', headersStart);
    const next = text.indexOf(delimiter, headersEnd);
    if (headersStart < 2 || headersEnd < 0 || next < 0) throw new Error('a multipart part is not closed');
    const headers = new Map<string, string>();
    for (const line of text.subarray(headersStart, headersEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    parts.push({ headers, body: text.subarray(headersEnd + 4, next) });
    at = next;
  }
}
