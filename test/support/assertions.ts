/** Small test helpers shared by the feature tests. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { isSitecastError, type ErrorCode } from '../../src/kernel/index.js';

/** SHA-256 of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The SitecastError code a promise rejects with, or 'ok'; anything else is rethrown. */
export async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isSitecastError(e)) return e.code;
    throw e;
  }
}
