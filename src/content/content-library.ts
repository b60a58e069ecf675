/**
 * The site's content library: a pack-file chunk store, a manifest store and a pool of chunking workers,
 * behind the one call distribution needs — snapshot a source into a version's manifest.
 */
import { join } from 'node:path';
import { ChunkerPool } from './chunker-pool.js';
import { collectGarbage, type ContentGcResult, type GcOptions } from './gc.js';
import { FsManifestStore } from './manifest-store.js';
import { PackStore } from './pack-store.js';
import { snapshotSource } from './snapshot.js';
import { StatCacheStore } from './stat-cache.js';
import type { SnapshotOptions, SnapshotResult } from './types.js';

export interface ContentLibraryOptions {
  /** Chunking worker threads (default 2). */
  readonly threads?: number;
  readonly warn?: (line: string) => void;
  /** Cut `.wim` sources at their resource boundaries before FastCDC (default true; see wim-boundaries.ts). */
  readonly wimAwareChunking?: boolean;
}

export class ContentLibrary {
  private constructor(
    readonly root: string,
    readonly chunks: PackStore,
    readonly manifests: FsManifestStore,
    private readonly pool: ChunkerPool,
    private readonly wimAwareChunking: boolean,
  ) {
    this.statCache = new StatCacheStore(join(root, 'stat-cache'));
  }

  /** Per package: the source's file stats when its last version was snapshotted. */
  readonly statCache: StatCacheStore;

  static async open(root: string, options: ContentLibraryOptions = {}): Promise<ContentLibrary> {
    const chunks = await PackStore.open(root, options.warn ? { warn: options.warn } : {});
    const manifests = await FsManifestStore.open(root);
    const pool = new ChunkerPool(options.threads !== undefined ? { threads: options.threads } : {});
    return new ContentLibrary(root, chunks, manifests, pool, options.wimAwareChunking ?? true);
  }

  /**
   * Snapshots `sourcePath` (a folder or a single file): new chunks are written and made durable, then the
   * manifest is written last — a version's content exists only once its manifest does.
   */
  async snapshot(sourcePath: string, options: SnapshotOptions): Promise<SnapshotResult> {
    const sink = this.chunks.beginIngest();
    try {
      const snap = await snapshotSource(sourcePath, sink, {
        ...options,
        pool: this.pool,
        wimAwareChunking: this.wimAwareChunking,
      });
      const manifestId = await this.manifests.putManifest(snap.manifest);
      return { ...snap, manifestId };
    } finally {
      // Unpins the chunks: from here the manifest (young, inside GC's grace period) protects them.
      await sink.end();
    }
  }

  /** Removes chunks and manifests no live manifest needs (recent manifests are kept: GC's grace period). */
  collectGarbage(liveManifestIds: ReadonlySet<string>, options?: GcOptions): Promise<ContentGcResult> {
    return collectGarbage(this.chunks, this.manifests, liveManifestIds, options);
  }

  /** Where the packs live (for people reading the demo's output). */
  get packsDir(): string {
    return join(this.root, 'packs');
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.chunks.close();
  }
}
