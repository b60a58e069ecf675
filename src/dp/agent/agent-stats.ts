/**
 * Counters of what reached the agent since it started, so a site (and the resumability tests) can see
 * from the DP's side what was sent twice for nothing: `duplicates` should stay 0 across cut connections.
 */
import type { AgentStats } from '../http/dp-wire.js';

type Counter = { chunks: number; bytes: number };

export class AgentStatsCounter {
  readonly #c: Record<keyof AgentStats, Counter> = {
    received: { chunks: 0, bytes: 0 },
    duplicates: { chunks: 0, bytes: 0 },
    rejected: { chunks: 0, bytes: 0 },
    pulled: { chunks: 0, bytes: 0 },
    served: { chunks: 0, bytes: 0 },
  };

  add(what: keyof AgentStats, chunks: number, bytes: number): void {
    this.#c[what].chunks += chunks;
    this.#c[what].bytes += bytes;
  }

  snapshot(): AgentStats {
    const copy = (c: Counter): Counter => ({ ...c });
    return {
      received: copy(this.#c.received),
      duplicates: copy(this.#c.duplicates),
      rejected: copy(this.#c.rejected),
      pulled: copy(this.#c.pulled),
      served: copy(this.#c.served),
    };
  }
}
