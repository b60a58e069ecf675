import type {
  ChunkStore,
  GcResult,
  ManifestStore,
  SnapshotOptions,
  SnapshotResult,
  SourceStats,
} from '../content/index.js';

/** What distribution needs of the site's content library (implemented in src/content). */
export interface ContentLibraryPort {
  readonly chunks: ChunkStore;
  readonly manifests: ManifestStore;
  /** Snapshots a source into chunks and writes the manifest last. */
  snapshot(sourcePath: string, options: SnapshotOptions): Promise<SnapshotResult>;
  /** The source stats recorded with each package's last version (scheduled refreshes skip unchanged sources). */
  readonly statCache: {
    get(packageId: string): Promise<SourceStats | undefined>;
    put(packageId: string, stats: SourceStats): Promise<void>;
  };
  /** Removes chunks and manifests not reachable from `liveManifestIds`. */
  collectGarbage(liveManifestIds: ReadonlySet<string>): Promise<GcResult>;
}
