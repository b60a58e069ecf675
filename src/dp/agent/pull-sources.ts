/**
 * Where a pull DP fetches chunks from: the ranked sources the site listed. Rank 1 first; equal ranks in
 * random order (so pull DPs spread their load over peers); what a source does not supply (it does not have
 * it yet, a timeout, a connection error, a 5xx, or bytes that do not hash to the id) is asked of the next
 * source of the rank, then the next rank. A source that failed rests a while (exponential, capped) so a
 * dead peer does not cost a timeout per request; one merely lacking a chunk does not.
 *
 * Chunks are read several at once (`POST /dp/v1/chunks/read`, a few MiB per request, over the shared
 * keep-alive connections of ../http/dp-http-client.ts); a source answering 404 or 405 there is an older
 * one, read chunk by chunk (`GET /dp/v1/chunks/:id`) from then on. Bytes are returned only once they hash
 * to their id: nothing unverified leaves this file.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { sha256Hex, type ChunkId } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';
import { GRANT_SCHEME } from '../auth/index.js';
import type { DpChunk } from '../dp-adapter.js';
import { decodeChunkBatch } from '../http/chunk-batch.js';
import { TimedOut, exchange } from '../http/dp-http-client.js';
import { DP_API_PREFIX, type PullSource } from '../http/dp-wire.js';
import { ReceiveBufferPool } from './raw-body.js';

export interface PullSourcesOptions {
  /** Per request, plus its bytes at `minBytesPerSecond`; default 30 s. */
  readonly timeoutMs?: number;
  readonly minBytesPerSecond?: number;
  /** Full passes over every source before a chunk is given up; default 4. */
  readonly passes?: number;
  readonly random?: () => number;
  /** Told each time a source did not supply `ids` (one call per request and reason). */
  readonly onFailure?: (source: PullSource, ids: readonly ChunkId[], reason: string) => void;
}

/** A chunk to fetch and its size from the manifest. */
export interface WantedChunk {
  readonly id: ChunkId;
  readonly size: number;
}

/** The verified chunks fetched, and DP_UNAVAILABLE when some could not be fetched from any source. */
export interface FetchedChunks {
  readonly chunks: DpChunk[];
  readonly unavailable: SitecastError | null;
  /** Gives the receive buffers back: call once `chunks` are stored, and read them no more. */
  readonly release: () => void;
}

/** Reused receive buffers: a read answers up to 8 MiB of chunks plus their frame headers. */
const RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024 + 64 * 1024;

interface SourceState {
  source: PullSource;
  failures: number;
  restUntil: number;
  /** False once the source answered the batched read with 404/405: it is read chunk by chunk. */
  batched: boolean;
}

/** What one source did with a request: the chunks it supplied, and why it did not supply the others. */
interface Answer {
  readonly chunks: DpChunk[];
  /** The pooled buffer `chunks` are views of, if any. */
  readonly buffer?: Buffer;
  readonly failures: { ids: ChunkId[]; reason: string; rest: boolean }[];
}

type Exchanged = { status: number; bytes: Buffer } | { reason: string };

const maxRestMs = 10_000;
const lacking = 'does not have it (404)';

export class PullSources {
  #sources: SourceState[] = [];
  readonly #o: Required<Omit<PullSourcesOptions, 'onFailure'>> & Pick<PullSourcesOptions, 'onFailure'>;
  readonly #pool = new ReceiveBufferPool(RECEIVE_BUFFER_BYTES, 6);

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
      batched: old.get(source.url)?.batched ?? true,
    }));
  }

  /** The verified bytes of one chunk, or DP_UNAVAILABLE naming what each source did. */
  async fetch(id: ChunkId, size: number, signal: AbortSignal): Promise<Buffer> {
    const { chunks, unavailable } = await this.fetchMany([{ id, size }], signal);
    if (unavailable) throw unavailable;
    return chunks[0]!.bytes;
  }

  /**
   * The verified chunks of `wanted`, each from the first source (by rank, random among equals) that
   * supplies it; the chunks no source could supply make `unavailable` (those that came stay usable).
   */
  async fetchMany(wanted: readonly WantedChunk[], signal: AbortSignal): Promise<FetchedChunks> {
    const sizes = new Map(wanted.map((w) => [w.id, w.size]));
    const chunks: DpChunk[] = [];
    const reasons = new Map<string, string>();
    const held: Buffer[] = [];
    const release = (): void => {
      for (const buffer of held.splice(0)) this.#pool.give(buffer);
    };
    for (let pass = 0; pass < this.#o.passes && sizes.size > 0; pass++) {
      let tried = 0;
      for (const rank of [...new Set(this.#sources.map((s) => s.source.rank))].sort((a, b) => a - b)) {
        const now = Date.now();
        const candidates = this.#shuffle(this.#sources.filter((s) => s.source.rank === rank));
        // Resting sources go last rather than never: on the last pass, everyone is asked.
        candidates.sort((a, b) => Number(a.restUntil > now) - Number(b.restUntil > now));
        for (const s of candidates) {
          if (sizes.size === 0) break;
          if (s.restUntil > now && pass < this.#o.passes - 1) continue;
          tried++;
          signal.throwIfAborted();
          const answer = await this.#read(s, sizes, signal);
          if (answer.buffer) {
            if (answer.chunks.length > 0) held.push(answer.buffer);
            else this.#pool.give(answer.buffer);
          }
          for (const chunk of answer.chunks) {
            sizes.delete(chunk.id);
            chunks.push(chunk);
          }
          if (answer.chunks.length > 0) {
            s.failures = 0;
            s.restUntil = 0;
          }
          for (const failure of answer.failures) {
            reasons.set(s.source.name, failure.reason);
            this.#o.onFailure?.(s.source, failure.ids, failure.reason);
            if (failure.rest) {
              s.failures++;
              s.restUntil = Date.now() + Math.min(maxRestMs, 250 * 2 ** Math.min(s.failures - 1, 10));
            }
          }
        }
      }
      // Everyone is resting: wait for the first to be back rather than spinning.
      if (tried === 0 && sizes.size > 0) {
        const soonest = Math.min(...this.#sources.map((s) => s.restUntil));
        await delay(Math.max(10, Math.min(maxRestMs, soonest - Date.now())), undefined, { signal });
      }
    }
    if (sizes.size === 0) return { chunks, unavailable: null, release };
    const first = sizes.keys().next().value!;
    const more = sizes.size > 1 ? ` and ${sizes.size - 1} more` : '';
    const detail = [...reasons].map(([name, why]) => `${name}: ${why}`).join('; ');
    const unavailable = new SitecastError(
      'DP_UNAVAILABLE',
      `chunk ${first}${more}: no pull source could supply it (${detail || 'no source answered'})`,
      { field: 'sources', id: first, missing: sizes.size },
    );
    return { chunks, unavailable, release };
  }

  /** Asks one source for the chunks of `sizes`, batched when it can, else one by one. */
  async #read(s: SourceState, sizes: ReadonlyMap<ChunkId, number>, signal: AbortSignal): Promise<Answer> {
    if (s.batched) {
      const answer = await this.#readBatch(s.source, sizes, signal);
      if (answer !== 'no-route') return answer;
      s.batched = false;
    }
    return this.#readEach(s.source, sizes, signal);
  }

  async #readBatch(
    source: PullSource,
    sizes: ReadonlyMap<ChunkId, number>,
    signal: AbortSignal,
  ): Promise<Answer | 'no-route'> {
    const ids = [...sizes.keys()];
    let total = 0;
    for (const size of sizes.values()) total += size;
    const body = Buffer.from(JSON.stringify({ ids }));
    // Only a buffer whose request completed is given back: a broken one may still be written to.
    let taken: Buffer | undefined;
    const receive = (length: number): Buffer | null => {
      if (length > RECEIVE_BUFFER_BYTES) return null;
      return (taken = this.#pool.take(length));
    };
    const answer = await this.#exchange(
      source,
      'POST',
      '/chunks/read',
      { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
      total,
      signal,
      receive,
    );
    if ('reason' in answer) return { chunks: [], failures: [{ ids, reason: answer.reason, rest: true }] };
    const buffer = taken && answer.bytes.buffer === taken.buffer ? taken : undefined;
    if (answer.status === 404 || answer.status === 405) {
      if (buffer) this.#pool.give(buffer);
      return 'no-route';
    }
    if (answer.status !== 200) {
      return { chunks: [], buffer, failures: [{ ids, reason: `HTTP ${answer.status}`, rest: true }] };
    }
    let frames: DpChunk[];
    try {
      frames = decodeChunkBatch(answer.bytes);
    } catch (e) {
      const reason = `answered with a body that is not chunk frames (${(e as Error).message})`;
      return { chunks: [], buffer, failures: [{ ids, reason, rest: true }] };
    }
    const chunks: DpChunk[] = [];
    const seen = new Set<ChunkId>();
    const bad: ChunkId[] = [];
    let badReason = '';
    for (const frame of frames) {
      const size = sizes.get(frame.id);
      if (size === undefined || seen.has(frame.id)) continue; // not asked for: ignored
      seen.add(frame.id);
      const why = refusal(frame.id, size, frame.bytes);
      if (why === null) chunks.push(frame);
      else {
        bad.push(frame.id);
        badReason = why;
      }
    }
    const failures: Answer['failures'] = [];
    const missing = ids.filter((id) => !seen.has(id));
    if (missing.length > 0) failures.push({ ids: missing, reason: lacking, rest: false });
    if (bad.length > 0) failures.push({ ids: bad, reason: badReason, rest: true });
    return { chunks, buffer, failures };
  }

  /** Chunk by chunk (a source without the batched read); stops at the first failure that rests it. */
  async #readEach(
    source: PullSource,
    sizes: ReadonlyMap<ChunkId, number>,
    signal: AbortSignal,
  ): Promise<Answer> {
    const chunks: DpChunk[] = [];
    const missing: ChunkId[] = [];
    const failures: Answer['failures'] = [];
    for (const [id, size] of sizes) {
      const answer = await this.#exchange(source, 'GET', `/chunks/${id}`, {}, null, size, signal);
      let why: string | null;
      if ('reason' in answer) why = answer.reason;
      else if (answer.status === 404) {
        missing.push(id);
        continue;
      } else if (answer.status !== 200) why = `HTTP ${answer.status}`;
      else why = refusal(id, size, answer.bytes);
      if (why === null) {
        chunks.push({ id, bytes: (answer as { bytes: Buffer }).bytes });
        continue;
      }
      failures.push({ ids: [id], reason: why, rest: true });
      break;
    }
    if (missing.length > 0) failures.unshift({ ids: missing, reason: lacking, rest: false });
    return { chunks, failures };
  }

  /**
   * One request with the source's grant: its answer, or why there was none. A connection that breaks
   * under it (a pooled keep-alive socket the source closed) is tried once more on a fresh one.
   */
  async #exchange(
    source: PullSource,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body: Buffer | null,
    bytes: number,
    signal: AbortSignal,
    receive?: (length: number) => Buffer | null,
  ): Promise<Exchanged> {
    const timeoutMs = this.#o.timeoutMs + Math.ceil((bytes / this.#o.minBytesPerSecond) * 1000);
    const target = new URL(`${source.url}${DP_API_PREFIX}${path}`);
    const all = {
      ...headers,
      authorization: `${GRANT_SCHEME} ${source.grant}`,
      accept: 'application/octet-stream',
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await exchange(target, method, all, body ? [body] : [], timeoutMs, signal, receive);
      } catch (e) {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : e;
        if (e instanceof TimedOut) return { reason: `no answer within ${Math.round(timeoutMs / 1000)} s` };
        const code = (e as { code?: unknown }).code;
        if (attempt === 1 && (code === 'ECONNRESET' || code === 'EPIPE')) continue;
        return { reason: typeof code === 'string' ? code : (e as Error).message };
      }
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

/** Why `bytes` are not chunk `id` of `size` bytes, or null when they are. */
function refusal(id: ChunkId, size: number, bytes: Buffer): string | null {
  if (bytes.length === size && sha256Hex(bytes) === id) return null;
  return `sent ${bytes.length} bytes that do not hash to the chunk id`;
}
