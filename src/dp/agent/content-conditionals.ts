/**
 * Validators and conditional requests (RFC 9110 §8.8, §13) for content files.
 *
 * The ETag is strong and names the version: a hash of the manifest id and the file's path, so it is the same
 * on every DP holding that version and changes whenever the package's version does — the one validator that
 * can tell two versions apart. Dates cannot: a new version may keep a file's mtime while its bytes change.
 * So `If-Range` with a date never matches (a resumed download restarts rather than mixing versions), and
 * `If-Modified-Since`/`If-Unmodified-Since` are judged against when the file arrived in this version on
 * this DP (its ctime, set when the tree was built), which only errs towards sending the file again. That
 * moment is also the Last-Modified sent, so a client echoing it (curl -z, wget -N, browsers) gets 304 while
 * the version stands; the source file's own mtime would never match it.
 */
import { createHash } from 'node:crypto';

export interface Validators {
  /** Strong entity tag, quotes included. */
  readonly etag: string;
  /** Epoch ms when this version's copy of the file came to be (max of mtime and ctime). */
  readonly changedAtMs: number;
}

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

export function entityTag(manifestId: string, path: string): string {
  const digest = createHash('sha256').update(manifestId).update('\0').update(path).digest('hex');
  return `"${manifestId.slice(0, 16)}-${digest.slice(0, 24)}"`;
}

type Header = string | string[] | undefined;

/**
 * The Last-Modified header for a file that came to be at `changedAtMs`, or undefined while that is within
 * the current second: a next version arriving in the same second would carry the same date, and a client
 * holding this one would then get 304 for bytes that changed (why Apache weakens such an ETag). Left out,
 * the client revalidates with the ETag instead.
 */
export function lastModified(changedAtMs: number, nowMs: number): string | undefined {
  return wholeSeconds(changedAtMs) < wholeSeconds(nowMs) ? new Date(changedAtMs).toUTCString() : undefined;
}

/** RFC 9110 §13.2.2 steps 1–4 for GET and HEAD; `If-Range` is step 5, see `ifRangeMatches`. */
export function evaluatePreconditions(
  headers: {
    readonly 'if-match'?: Header;
    readonly 'if-none-match'?: Header;
    readonly 'if-modified-since'?: Header;
    readonly 'if-unmodified-since'?: Header;
  },
  validators: Validators,
): PreconditionOutcome {
  const ifMatch = joined(headers['if-match']);
  if (ifMatch !== undefined) {
    if (!tagListMatches(ifMatch, validators.etag, 'strong')) return 'precondition-failed';
  } else {
    const since = httpDate(headers['if-unmodified-since']);
    if (since !== undefined && wholeSeconds(validators.changedAtMs) > since) return 'precondition-failed';
  }
  const ifNoneMatch = joined(headers['if-none-match']);
  if (ifNoneMatch !== undefined) {
    return tagListMatches(ifNoneMatch, validators.etag, 'weak') ? 'not-modified' : 'proceed';
  }
  const since = httpDate(headers['if-modified-since']);
  if (since !== undefined && wholeSeconds(validators.changedAtMs) <= since) return 'not-modified';
  return 'proceed';
}

/** Whether a Range may be honoured: no If-Range, or one carrying exactly this strong ETag. */
export function ifRangeMatches(header: Header, etag: string): boolean {
  const value = joined(header)?.trim();
  if (value === undefined) return true;
  // A date, a weak tag or another tag: the client's partial copy may be of another version.
  return value === etag;
}

function tagListMatches(list: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  if (list.trim() === '*') return true;
  for (const m of list.matchAll(/(W\/)?"([^"]*)"/g)) {
    if (comparison === 'strong' && m[1] !== undefined) continue;
    if (`"${m[2]}"` === etag) return true;
  }
  return false;
}

function joined(header: Header): string | undefined {
  return Array.isArray(header) ? header.join(', ') : header;
}

/** Seconds since the epoch, or undefined for an absent or unparsable date (which is then ignored). */
function httpDate(header: Header): number | undefined {
  const value = joined(header);
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
