/** The DpAdapter of a DP that is a folder on the site server's own disk: the folder store, called directly. */
import type { ChunkId } from '../../content/index.js';
import type {
  ActivateOptions,
  DpAdapter,
  DpChunk,
  DpHealth,
  DpPackageState,
  DpVerifyReport,
} from '../dp-adapter.js';
import { FolderDpStore, type FolderDpStoreOptions } from './folder-dp-store.js';

export class LocalFolderAdapter implements DpAdapter {
  readonly kind = 'local' as const;

  constructor(readonly store: FolderDpStore) {}

  missingChunks(packageId: string, ids: readonly ChunkId[]): Promise<ChunkId[]> {
    return this.store.missingChunks(packageId, ids);
  }

  prepare(packageId: string, version: number, manifestId: string, manifestBytes: Buffer): Promise<void> {
    return this.store.prepare(packageId, version, manifestId, manifestBytes);
  }

  putChunks(packageId: string, chunks: readonly DpChunk[], signal?: AbortSignal): Promise<void> {
    return this.store.putChunks(packageId, chunks, signal);
  }

  activate(
    packageId: string,
    version: number,
    manifestId: string,
    manifestBytes: Buffer,
    options: ActivateOptions,
  ): Promise<void> {
    return this.store.activate(packageId, version, manifestId, manifestBytes, options);
  }

  packageState(packageId: string): Promise<DpPackageState | null> {
    return this.store.packageState(packageId);
  }

  verify(packageId: string, signal?: AbortSignal): Promise<DpVerifyReport> {
    return this.store.verify(packageId, signal);
  }

  remove(packageId: string): Promise<void> {
    return this.store.remove(packageId);
  }

  discardPending(packageId: string): Promise<void> {
    return this.store.discardPending(packageId);
  }

  health(): Promise<DpHealth> {
    return this.store.health();
  }
}

/** A local-folder DP. `create: true` only when the DP is being added: later a missing root is DP_UNAVAILABLE. */
export function createLocalFolderDp(options: FolderDpStoreOptions): LocalFolderAdapter {
  return new LocalFolderAdapter(new FolderDpStore(options));
}
