/**
 * Tokens recently found in the database, by hash, so a busy API client costs one SQL lookup per few
 * seconds rather than one per request. Short-lived and bounded: a revocation made through this process's
 * TokenService applies at once (it forgets the token); one made by another process (a second server on the
 * same PostgreSQL) applies within `ttlMs`. Expiry is still checked on every request by the caller.
 */
import type { TokenRecord } from './token.repository.js';

interface Entry {
  record: TokenRecord;
  readonly until: number;
}

export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 5_000,
    private readonly capacity = 1_000,
  ) {}

  get(tokenHash: string, now: number): TokenRecord | undefined {
    const e = this.#entries.get(tokenHash);
    if (!e) return undefined;
    if (now >= e.until || now < e.until - this.ttlMs) {
      this.#entries.delete(tokenHash);
      return undefined;
    }
    return e.record;
  }

  set(tokenHash: string, record: TokenRecord, now: number): void {
    this.#entries.delete(tokenHash);
    // Oldest first: a full cache drops the entry cached longest ago.
    if (this.#entries.size >= this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(tokenHash, { record, until: now + this.ttlMs });
  }

  /** Keeps the cached copy in step after a write (lastUsedAt), without extending its life. */
  update(tokenHash: string, record: TokenRecord): void {
    const e = this.#entries.get(tokenHash);
    if (e) e.record = record;
  }

  forget(tokenId: number): void {
    for (const [hash, e] of this.#entries) if (e.record.id === tokenId) this.#entries.delete(hash);
  }
}
