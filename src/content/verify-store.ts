/**
 * Re-hashes every indexed chunk of a pack store (content validation). Bad chunks are reported; with
 * `dropBad` they also leave the in-memory index, so has() says they are missing and a put() of the right
 * bytes repairs them (the newer pack wins when the store is reopened).
 */
import { SitecastError } from '../kernel/index.js';
import type { ProgressListener } from '../kernel/index.js';
import { sha256Of } from './pack-format.js';
import type { ChunkRecord, PackIndex } from './pack-index.js';

export interface VerifyStoreOptions {
  readonly dropBad?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

export interface BadChunk {
  readonly id: string;
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
  readonly reason: string;
}

export interface VerifyStoreReport {
  readonly chunksChecked: number;
  readonly bytesChecked: number;
  readonly bad: readonly BadChunk[];
  /** Packs set aside when the store was opened (their chunks are not in the store). */
  readonly quarantined: readonly { readonly file: string; readonly reason: string }[];
}

export async function verifyPacks(
  index: PackIndex,
  readRecord: (rec: ChunkRecord) => Promise<Buffer>,
  quarantined: VerifyStoreReport['quarantined'],
  options: VerifyStoreOptions,
): Promise<VerifyStoreReport> {
  const bad: BadChunk[] = [];
  let chunksChecked = 0;
  let bytesChecked = 0;
  const bytesTotal = index.chunkBytes;
  for (const pack of index.packs()) {
    for (const rec of pack.records) {
      if (options.signal?.aborted) {
        throw new SitecastError('CANCELLED', 'content library verification cancelled', {});
      }
      if (index.get(rec.id) !== rec) continue;
      let reason: string | null = null;
      try {
        const bytes = await readRecord(rec);
        if (sha256Of(bytes) !== rec.id) reason = 'bytes do not match the chunk id';
      } catch (e) {
        reason = e instanceof Error ? e.message : String(e);
      }
      chunksChecked++;
      bytesChecked += rec.length;
      if (reason !== null) {
        bad.push({ id: rec.id, pack: pack.packPath, offset: rec.offset, length: rec.length, reason });
        if (options.dropBad) index.removeChunk(rec);
      }
    }
    options.onProgress?.({ operation: 'verify', bytesDone: bytesChecked, bytesTotal, detail: pack.packPath });
  }
  return { chunksChecked, bytesChecked, bad, quarantined };
}
