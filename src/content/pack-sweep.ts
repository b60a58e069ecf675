/**
 * The sweep half of GC over a pack store. The decision is taken in one synchronous step (so no ingest
 * session can pin a chunk between "is it live?" and "drop it"): dead chunks of packs to be deleted or
 * compacted leave the index at once, and hasChunk() answers false for them from then on.
 *
 * Crash safety: a compacted pack is sealed (index renamed, directory fsync'd) before the packs it replaces
 * are deleted, and a pack's index is unlinked before the pack file, so a crash at any point leaves either
 * both copies of a live chunk (the duplicate is reclaimed later) or an unindexed pack that open() removes.
 */
import { unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SitecastError } from '../kernel/index.js';
import type { ProgressListener } from '../kernel/index.js';
import { fsyncDir, isErrno, storeIoError } from './durable-file.js';
import type { FdCache } from './fd-cache.js';
import { sha256Of } from './pack-format.js';
import type { ChunkRecord, PackEntry, PackIndex } from './pack-index.js';
import type { PackWriter } from './pack-writer.js';

export interface SweepHost {
  readonly index: PackIndex;
  readonly fds: FdCache;
  readonly packBytes: number;
  createWriter(): Promise<PackWriter>;
  readRecord(rec: ChunkRecord): Promise<Buffer>;
}

export interface SweepOptions {
  /** Packs whose live bytes are below this fraction of their size are rewritten. Default 0.5. */
  readonly compactBelow?: number;
  /** Packs smaller than this are merged together when there are at least `minSmallPacks`. Default packBytes/8. */
  readonly smallPackBytes?: number;
  /** Default 4. */
  readonly minSmallPacks?: number;
  /**
   * Packs sealed at or after this epoch ms are left alone: chunks received for a version whose manifest
   * has not arrived yet (a DP or child site mid-transfer) are not referenced by any manifest. Default: none.
   */
  readonly sparePacksSealedAfter?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

export interface SweepResult {
  /** Distinct chunks in the store after the sweep. */
  readonly chunksKept: number;
  readonly chunksRemoved: number;
  /** Pack bytes deleted minus pack bytes written by compaction. */
  readonly bytesFreed: number;
  readonly packsDeleted: number;
  readonly packsCompacted: number;
  readonly packsWritten: number;
  /** Live chunks found corrupt while compacting: dropped from the store, to be re-fetched or re-snapshotted. */
  readonly corruptChunks: readonly string[];
}

interface Plan {
  readonly pack: PackEntry;
  readonly live: ChunkRecord[];
  readonly dead: ChunkRecord[];
  liveBytes: number;
}

export async function sweepPacks(
  host: SweepHost,
  isLive: (id: string) => boolean,
  options: SweepOptions,
): Promise<SweepResult> {
  const { index } = host;
  const compactBelow = options.compactBelow ?? 0.5;
  const smallPackBytes = options.smallPackBytes ?? host.packBytes / 8;
  const minSmall = options.minSmallPacks ?? 4;
  throwIfAborted(options.signal);

  // --- Decide: synchronous from here to the end of the block. ---
  const spareAfter = options.sparePacksSealedAfter ?? Infinity;
  const plans: Plan[] = index
    .packs()
    .filter((pack) => pack.sealedAt < spareAfter)
    .map((pack) => {
      const plan: Plan = { pack, live: [], dead: [], liveBytes: 0 };
      for (const rec of pack.records) {
        if (index.get(rec.id) !== rec) continue; // duplicate of a record in another pack
        if (isLive(rec.id) || index.isPinned(rec.id)) {
          plan.live.push(rec);
          plan.liveBytes += rec.length;
        } else plan.dead.push(rec);
      }
      return plan;
    });
  const smallCount = plans.filter((p) => p.live.length > 0 && p.pack.size < smallPackBytes).length;
  const toDelete: PackEntry[] = [];
  const toCompact: Plan[] = [];
  let chunksRemoved = 0;
  for (const plan of plans) {
    const small = smallCount >= minSmall && plan.pack.size < smallPackBytes;
    if (plan.live.length === 0) toDelete.push(plan.pack);
    else if (plan.liveBytes < compactBelow * plan.pack.size || small) toCompact.push(plan);
    else {
      plan.pack.deadBytes = plan.dead.reduce((n, r) => n + r.length, 0);
      continue;
    }
    for (const rec of plan.dead) if (index.removeChunk(rec)) chunksRemoved++;
  }
  // --- End of the synchronous decision. ---

  let bytesFreed = 0;
  for (const pack of toDelete) {
    index.removePack(pack);
    await deletePackFiles(host, pack);
    bytesFreed += pack.size;
  }
  if (toDelete.length > 0) await syncDir(toDelete);

  const compaction = await compact(host, toCompact, options);
  bytesFreed += compaction.bytesFreed;
  return {
    chunksKept: index.chunkCount,
    chunksRemoved: chunksRemoved + compaction.corrupt.length,
    bytesFreed,
    packsDeleted: toDelete.length,
    packsCompacted: compaction.packsCompacted,
    packsWritten: compaction.packsWritten,
    corruptChunks: compaction.corrupt,
  };
}

async function compact(
  host: SweepHost,
  plans: readonly Plan[],
  options: SweepOptions,
): Promise<{ bytesFreed: number; packsCompacted: number; packsWritten: number; corrupt: string[] }> {
  const { index } = host;
  const corrupt: string[] = [];
  const bytesTotal = plans.reduce((n, p) => n + p.liveBytes, 0);
  let bytesDone = 0;
  let bytesFreed = 0;
  let packsWritten = 0;
  let writer: PackWriter | null = null;
  let moved = new Set<ChunkRecord>();

  const commit = async (): Promise<void> => {
    if (!writer) return;
    const w = writer;
    writer = null;
    const sealed = await w.seal();
    const movedNow = moved;
    moved = new Set();
    index.addPack(sealed, (current) => movedNow.has(current));
    bytesFreed -= sealed.size;
    packsWritten++;
  };

  try {
    for (const plan of plans) {
      throwIfAborted(options.signal);
      for (const rec of plan.live) {
        if (index.get(rec.id) !== rec) continue;
        let bytes: Buffer;
        try {
          bytes = await host.readRecord(rec);
        } catch (e) {
          if (!(e instanceof SitecastError && e.code === 'CORRUPT_DATA')) throw e;
          bytes = Buffer.alloc(0);
        }
        if (bytes.length !== rec.length || sha256Of(bytes) !== rec.id) {
          index.removeChunk(rec);
          corrupt.push(rec.id);
          continue;
        }
        writer ??= await host.createWriter();
        await writer.append(rec.id, bytes);
        moved.add(rec);
        bytesDone += rec.length;
        options.onProgress?.({ operation: 'gc', bytesDone, bytesTotal, detail: 'compacting packs' });
        if (writer.size >= host.packBytes) await commit();
      }
    }
    await commit();
  } catch (e) {
    // The old packs stay untouched; nothing of the unfinished new pack stays on disk.
    await writer?.discard();
    throw storeIoError(e, 'compacting packs');
  }

  let packsCompacted = 0;
  const deleted: PackEntry[] = [];
  for (const plan of plans) {
    // Never delete a pack that still holds the only indexed copy of a chunk.
    if (plan.pack.records.some((rec) => index.get(rec.id) === rec)) continue;
    index.removePack(plan.pack);
    await deletePackFiles(host, plan.pack);
    deleted.push(plan.pack);
    bytesFreed += plan.pack.size;
    packsCompacted++;
  }
  if (deleted.length > 0) await syncDir(deleted);
  return { bytesFreed, packsCompacted, packsWritten, corrupt };
}

/** Index first: once it is gone the pack is invisible, and a crash before the pack unlink is cleaned on open. */
async function deletePackFiles(host: SweepHost, pack: PackEntry): Promise<void> {
  host.fds.evict(pack.packPath);
  for (const path of [pack.idxPath, pack.packPath]) {
    try {
      await unlink(path);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw storeIoError(e, `deleting ${path}`);
    }
  }
}

async function syncDir(packs: readonly PackEntry[]): Promise<void> {
  const first = packs[0];
  if (first) await fsyncDir(dirname(first.packPath));
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SitecastError('CANCELLED', 'garbage collection cancelled', {});
}
