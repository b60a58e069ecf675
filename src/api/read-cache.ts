/**
 * Answers to reads, kept as the JSON text that was sent, until the database changes. Dashboards and scripts
 * poll the same URLs (a package's status, its DPs); each answer is checked against the database's change
 * stamp (src/db/change-stamp.ts: equal stamps mean nothing readable changed), so a cached answer is always
 * the one the query would give now — never a stale one, whatever process wrote. A hit costs one tiny query
 * instead of the query, building the records and serializing them.
 *
 * Only what is a function of the URL and the data goes through it: the routes check authentication and
 * the caller's role before asking, and errors are never kept. Concurrent misses for the same URL at the
 * same stamp share one computation. Bounded by bytes, least recently used out first.
 */
import type { ChangeStamp } from '../db/change-stamp.js';

export interface CachedAnswer {
  /** The response body, JSON as UTF-8: encoded once, sent as is by every hit. */
  readonly body: Buffer;
  readonly etag?: string;
}

export interface ReadCacheOptions {
  /** Memory for all answers; 0 turns the cache off. */
  readonly maxBytes: number;
  /** Larger answers are computed every time. */
  readonly maxEntryBytes?: number;
}

export interface ReadCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  readonly bytes: number;
}

interface Entry {
  readonly stamp: string;
  readonly answer: CachedAnswer;
  readonly bytes: number;
}

export const defaultReadCacheBytes = 64 * 1024 * 1024;

export class ReadCache {
  readonly #stamp: ChangeStamp;
  readonly #maxBytes: number;
  readonly #maxEntryBytes: number;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, { readonly stamp: string; readonly answer: Promise<CachedAnswer> }>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(stamp: ChangeStamp, options: ReadCacheOptions) {
    if (!(options.maxBytes >= 0))
      throw new RangeError(`read cache size must be ≥ 0, not ${options.maxBytes}`);
    this.#stamp = stamp;
    this.#maxBytes = options.maxBytes;
    this.#maxEntryBytes = Math.min(options.maxEntryBytes ?? options.maxBytes / 4, options.maxBytes);
  }

  /** The answer for `key`: kept if the data has not changed since it was computed, else `compute()`. */
  async answer(key: string, compute: () => Promise<CachedAnswer>): Promise<CachedAnswer> {
    if (this.#maxBytes === 0) return compute();
    let stamp: string;
    try {
      stamp = await this.#stamp();
    } catch {
      // The database could not say; the query itself will, with its own error if it fails too.
      return compute();
    }
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      if (entry.stamp === stamp) {
        this.#entries.set(key, entry); // most recently used: to the end
        this.#hits++;
        return entry.answer;
      }
      this.#bytes -= entry.bytes;
    }
    const running = this.#inflight.get(key);
    if (running?.stamp === stamp) {
      this.#hits++;
      return running.answer;
    }
    this.#misses++;
    // The stamp was read before the query ran: if anything changed in between, later stamps differ from
    // it and the answer is simply not used again.
    const answer = compute();
    this.#inflight.set(key, { stamp, answer });
    try {
      const done = await answer;
      this.#keep(key, stamp, done);
      return done;
    } finally {
      if (this.#inflight.get(key)?.answer === answer) this.#inflight.delete(key);
    }
  }

  stats(): ReadCacheStats {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size, bytes: this.#bytes };
  }

  #keep(key: string, stamp: string, answer: CachedAnswer): void {
    const bytes = answer.body.length + 2 * (key.length + (answer.etag?.length ?? 0)) + 100;
    if (bytes > this.#maxEntryBytes) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#bytes -= old.bytes;
    }
    this.#entries.set(key, { stamp, answer, bytes });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
    }
  }
}
