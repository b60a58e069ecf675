/**
 * What the agent reports about its folder store beyond the DpAdapter calls: the packages it presents,
 * what has arrived for a pending version (the store's index of its incoming batch files), and the tree
 * client content is served from. It reads the folder layout the store keeps (see
 * ../local-folder/README.md) and never writes.
 */
import { readdir, realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FolderDpStore } from '../local-folder/index.js';
import { FolderLayout, isPackageId, parseVersionDirName } from '../local-folder/folder-layout.js';

export interface PresentedTree {
  /** Real path of the current version's tree (stable while the version is current). */
  readonly treeRoot: string;
  readonly manifestId: string;
  readonly version: number;
}

export class AgentStoreView {
  readonly #layout: FolderLayout;

  constructor(private readonly store: FolderDpStore) {
    this.#layout = new FolderLayout(store.root);
  }

  /** Every package the DP presents, with its version. */
  async packages(): Promise<{ packageId: string; version: number; manifestId: string }[]> {
    const names = await readdir(this.store.root).catch(() => [] as string[]);
    const out: { packageId: string; version: number; manifestId: string }[] = [];
    for (const name of names.filter(isPackageId).sort()) {
      const state = await this.store.packageState(name).catch(() => null);
      if (state) out.push({ packageId: name, ...state });
    }
    return out;
  }

  /** Chunks (and their bytes) received for a version of `packageId` not yet activated; each was hashed on arrival. */
  async pending(packageId: string): Promise<{ chunks: number; bytes: number }> {
    return this.store.pendingChunks(packageId).catch(() => ({ chunks: 0, bytes: 0 }));
  }

  /** Which of `ids` already wait, verified, for a pending version of `packageId`. */
  async received(packageId: string, ids: readonly string[]): Promise<Set<string>> {
    return this.store.receivedChunkIds(packageId, ids).catch(() => new Set<string>());
  }

  /** Ids of the verified chunks waiting for a pending version of `packageId`. */
  async receivedIds(packageId: string): Promise<Set<string>> {
    return this.store.receivedChunkIds(packageId).catch(() => new Set<string>());
  }

  /**
   * The tree clients should read for `packageId`, or null when nothing is presented. The link is resolved
   * first and checked against the store's state, so the answer never pairs a tree with another version's id.
   */
  async presented(packageId: string): Promise<PresentedTree | null> {
    if (!isPackageId(packageId)) return null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const treeRoot = await realpath(this.#layout.presented(packageId)).catch(() => null);
      const state = await this.store.packageState(packageId);
      if (!treeRoot || !state) return null;
      const dir = parseVersionDirName(basename(treeRoot));
      if (dir && dir.version === state.version && state.manifestId.startsWith(dir.shortId)) {
        return { treeRoot, manifestId: state.manifestId, version: state.version };
      }
      // A switch happened between the two reads: look again.
    }
    return null;
  }
}
