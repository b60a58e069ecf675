/**
 * Where a pull DP fetches a chunk from: the ranked sources the site listed. Rank 1 first; equal ranks in
 * random order (so pull DPs spread their load over peers); on a timeout, a connection error, a 5xx, a 404
 * or bytes that do not hash to the id, the next source of the rank, then the next rank. A source that
 * failed rests a while (exponential, capped) so a dead peer does not cost a timeout per chunk.
 * Bytes are returned only once they hash to the id: nothing unverified leaves this file.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { sha256Hex, type ChunkId } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';
import { GRANT_SCHEME } from '../auth/index.js';
import { DP_API_PREFIX, type PullSource } from '../http/dp-wire.js';

export interface PullSourcesOptions {
  /** Per chunk request, plus its size at `minBytesPerSecond`; default 30 s. */
  readonly timeoutMs?: number;
  readonly minBytesPerSecond?: number;
  /** Full passes over every source before a chunk is given up; default 4. */
  readonly passes?: number;
  readonly random?: () => number;
  readonly onFailure?: (source: PullSource, id: ChunkId, reason: string) => void;
}

interface SourceState {
  source: PullSource;
  failures: number;
  restUntil: number;
}

const maxRestMs = 10_000;

export class PullSources {
  #sources: SourceState[] = [];
  readonly #o: Required<Omit<PullSourcesOptions, 'onFailure'>> & Pick<PullSourcesOptions, 'onFailure'>;

  constructor(sources: readonly PullSource[], options: PullSourcesOptions = {}) {
    this.#o = {
      timeoutMs: options.timeoutMs ?? 30_000,
      minBytesPerSecond: options.minBytesPerSecond ?? 64 * 1024,
      passes: options.passes ?? 4,
      random: options.random ?? Math.random,
      onFailure: options.onFailure,
    };
    this.replace(sources);
  }

  /** New sources (fresh grants from the site); what is known about a source of the same URL is kept. */
  replace(sources: readonly PullSource[]): void {
    const old = new Map(this.#sources.map((s) => [s.source.url, s]));
    this.#sources = sources.map((source) => ({
      source,
      failures: old.get(source.url)?.failures ?? 0,
      restUntil: old.get(source.url)?.restUntil ?? 0,
    }));
  }

  /** The verified bytes of `id` (of `size` bytes), or DP_UNAVAILABLE naming what each source did. */
  async fetch(id: ChunkId, size: number, signal: AbortSignal): Promise<Buffer> {
    const reasons = new Map<string, string>();
    for (let pass = 0; pass < this.#o.passes; pass++) {
      let tried = 0;
      for (const rank of [...new Set(this.#sources.map((s) => s.source.rank))].sort((a, b) => a - b)) {
        const now = Date.now();
        const candidates = this.#shuffle(this.#sources.filter((s) => s.source.rank === rank));
        // Resting sources go last rather than never: on the last pass, everyone is asked.
        candidates.sort((a, b) => Number(a.restUntil > now) - Number(b.restUntil > now));
        for (const s of candidates) {
          if (s.restUntil > now && pass < this.#o.passes - 1) continue;
          tried++;
          signal.throwIfAborted();
          const result = await this.#get(s.source, id, size, signal);
          if (Buffer.isBuffer(result)) {
            s.failures = 0;
            s.restUntil = 0;
            return result;
          }
          reasons.set(s.source.name, result.reason);
          this.#o.onFailure?.(s.source, id, result.reason);
          if (result.rest) {
            s.failures++;
            s.restUntil = Date.now() + Math.min(maxRestMs, 250 * 2 ** Math.min(s.failures - 1, 10));
          }
        }
      }
      // Everyone is resting: wait for the first to be back rather than spinning.
      if (tried === 0) {
        const soonest = Math.min(...this.#sources.map((s) => s.restUntil));
        await delay(Math.max(10, Math.min(maxRestMs, soonest - Date.now())), undefined, { signal });
      }
    }
    const detail = [...reasons].map(([name, why]) => `${name}: ${why}`).join('; ');
    throw new SitecastError(
      'DP_UNAVAILABLE',
      `chunk ${id}: no pull source could supply it (${detail || 'no source answered'})`,
      { field: 'sources', id },
    );
  }

  /** The chunk's verified bytes, or why not and whether the source should rest. */
  async #get(
    source: PullSource,
    id: ChunkId,
    size: number,
    signal: AbortSignal,
  ): Promise<Buffer | { reason: string; rest: boolean }> {
    const timeoutMs = this.#o.timeoutMs + Math.ceil((size / this.#o.minBytesPerSecond) * 1000);
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await fetch(`${source.url}${DP_API_PREFIX}/chunks/${id}`, {
        headers: { authorization: `${GRANT_SCHEME} ${source.grant}`, accept: 'application/octet-stream' },
        signal: AbortSignal.any([signal, timeout]),
      });
      const bytes = Buffer.from(await response.arrayBuffer());
      if (response.status === 404) return { reason: 'does not have it (404)', rest: false };
      if (response.status !== 200) return { reason: `HTTP ${response.status}`, rest: true };
      if (bytes.length !== size || sha256Hex(bytes) !== id) {
        return { reason: `sent ${bytes.length} bytes that do not hash to the chunk id`, rest: true };
      }
      return bytes;
    } catch (e) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : e;
      if (timeout.aborted)
        return { reason: `no answer within ${Math.round(timeoutMs / 1000)} s`, rest: true };
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return { reason: cause?.code ?? cause?.message ?? (e as Error).message, rest: true };
    }
  }

  #shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#o.random() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
