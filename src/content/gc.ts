/**
 * Garbage collection of the content library. Mark: every chunk of the live manifests (the caller passes
 * current versions + versions being distributed), of manifests put within the grace period (a refresh
 * whose version row is not committed yet), and of manifests put while GC runs. Sweep: the pack store drops
 * every other chunk no open ingest session pins, except in packs sealed within the grace period (chunks
 * received before their manifest) (pack-sweep.ts). Dead manifests are deleted before the
 * sweep, so no manifest ever points at chunks that are gone.
 *
 * GC aborts, deleting nothing, when a live manifest is missing or unreadable: it cannot know its chunks.
 * The protocol that keeps a fresh snapshot safe: flush() the ingest session, put the manifest, then end().
 */
import { systemClock } from '../kernel/index.js';
import type { Clock } from '../kernel/index.js';
import { SitecastError } from '../kernel/index.js';
import type { ManifestPutListener } from './manifest-store.js';
import type { PackStore } from './pack-store.js';
import type { SweepOptions } from './pack-sweep.js';
import type { GcResult, Manifest, ManifestStore } from './types.js';

/** A manifest store; the optional hooks (FsManifestStore has both) close races with concurrent puts. */
export interface GcManifestSource extends ManifestStore {
  onPut?(listener: ManifestPutListener): () => void;
  /** Epoch ms of the manifest's last put, for the grace period. */
  manifestTime?(id: string): Promise<number | null>;
}

export interface GcOptions extends SweepOptions {
  /**
   * Manifests put and packs sealed less than this long ago are kept even when nothing live references
   * them: a refresh whose version row is not committed yet, chunks received before their manifest.
   * Default 1 hour.
   */
  readonly graceMs?: number;
  /** Compared with manifest file times, so only a real clock makes sense outside tests. */
  readonly clock?: Clock;
}

export interface ContentGcResult extends GcResult {
  readonly manifestsKept: number;
  readonly packsDeleted: number;
  readonly packsCompacted: number;
  readonly packsWritten: number;
  /** Live chunks found corrupt while compacting and dropped; validation should re-fetch them. */
  readonly corruptChunks: readonly string[];
}

export async function collectGarbage(
  packs: PackStore,
  manifests: GcManifestSource,
  liveManifestIds: ReadonlySet<string>,
  options: GcOptions = {},
): Promise<ContentGcResult> {
  const graceMs = options.graceMs ?? 60 * 60 * 1000;
  const now = (options.clock ?? systemClock).now();
  const liveChunks = new Set<string>();
  const putDuringGc = new Map<string, Manifest>();
  const mark = (m: Manifest): void => {
    for (const f of m.files) for (const c of f.chunks) liveChunks.add(c.id);
  };
  const unsubscribe = manifests.onPut?.((id, m) => {
    putDuringGc.set(id, m);
    mark(m);
  });
  try {
    const listed = await manifests.listManifests();
    const keep = new Set<string>();
    for (const id of liveManifestIds) {
      if (!(await manifests.hasManifest(id))) {
        throw new SitecastError(
          'NOT_FOUND',
          `live manifest ${id} is not in the content library; garbage collection aborted, nothing deleted`,
          { manifestId: id, field: 'liveManifestIds' },
        );
      }
      keep.add(id);
    }
    const dead: string[] = [];
    for (const id of listed) {
      if (keep.has(id)) continue;
      const time = graceMs > 0 ? await manifests.manifestTime?.(id) : null;
      if (time != null && now - time < graceMs) keep.add(id);
      else dead.push(id);
    }
    for (const id of keep) {
      options.signal?.throwIfAborted();
      mark(await manifests.getManifest(id));
    }

    let manifestsRemoved = 0;
    for (const id of dead) {
      if (putDuringGc.has(id)) continue;
      await manifests.deleteManifest(id);
      manifestsRemoved++;
      // A put racing with the unlink may have lost its file: write it back.
      const racing = putDuringGc.get(id);
      if (racing) {
        await manifests.putManifest(racing);
        manifestsRemoved--;
      }
    }

    const swept = await packs.sweep((id) => liveChunks.has(id), {
      ...options,
      sparePacksSealedAfter: graceMs > 0 ? now - graceMs : undefined,
    });
    return { ...swept, manifestsRemoved, manifestsKept: keep.size + dead.length - manifestsRemoved };
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') {
      throw new SitecastError('CANCELLED', 'garbage collection cancelled', {}, { cause: e });
    }
    throw e;
  } finally {
    unsubscribe?.();
  }
}
