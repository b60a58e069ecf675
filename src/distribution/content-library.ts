import type {
  ChunkStore,
  GcResult,
  ManifestStore,
  SnapshotOptions,
  SnapshotResult,
} from '../content/index.js';

/** What distribution needs of the site's content library (implemented in src/content). */
export interface ContentLibraryPort {
  readonly chunks: ChunkStore;
  readonly manifests: ManifestStore;
  /** Snapshots a source into chunks and writes the manifest last. */
  snapshot(sourcePath: string, options: SnapshotOptions): Promise<SnapshotResult>;
  /** Removes chunks and manifests not reachable from `liveManifestIds`. */
  collectGarbage(liveManifestIds: ReadonlySet<string>): Promise<GcResult>;
}
