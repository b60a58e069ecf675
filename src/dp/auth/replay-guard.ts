/**
 * Remembers the nonces of genuine requests until their timestamp leaves the skew window, so a request
 * captured on the wire cannot be sent again while its timestamp is still acceptable.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  #nextSweep = 0;

  /** How often expired nonces are dropped (a sweep is O(n), so not on every request). */
  constructor(private readonly sweepEveryMs = 10_000) {}

  /** False when `nonce` was already accepted and is still within its window; otherwise records it. */
  accept(nonce: string, expiresAt: number, now: number): boolean {
    if (now >= this.#nextSweep) {
      for (const [n, until] of this.#seen) if (until < now) this.#seen.delete(n);
      this.#nextSweep = now + this.sweepEveryMs;
    }
    const until = this.#seen.get(nonce);
    if (until !== undefined && until >= now) return false;
    this.#seen.set(nonce, expiresAt);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}
