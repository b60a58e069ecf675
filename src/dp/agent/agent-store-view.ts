/**
 * What the agent reports about its folder store beyond the DpAdapter calls: the packages it presents,
 * what has arrived for a pending version, and the tree client content is served from. It reads the
 * folder layout the store keeps (see ../local-folder/README.md) and never writes.
 */
import { access, readdir, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FolderDpStore } from '../local-folder/index.js';
import { FolderLayout, isPackageId, parseVersionDirName } from '../local-folder/folder-layout.js';

const chunkName = /^[0-9a-f]{64}$/;

export interface PresentedTree {
  /** Real path of the current version's tree (stable while the version is current). */
  readonly treeRoot: string;
  readonly manifestId: string;
  readonly version: number;
}

export class AgentStoreView {
  readonly #layout: FolderLayout;
  /** Per package, the sizes of the pending chunk files seen by the last `pending` call. */
  readonly #pendingSizes = new Map<string, Map<string, number>>();

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

  /**
   * Chunks (and their bytes) received for a version of `packageId` not yet activated; each was hashed on
   * arrival. A pull's follower asks every second, so sizes seen before are remembered: a chunk file only
   * ever holds the bytes of its id (renamed into place once verified), so its size cannot change, and only
   * names new since the last call are stat'ed (without this, a 1 GiB pull stat'ed ~16k files a second).
   */
  async pending(packageId: string): Promise<{ chunks: number; bytes: number }> {
    const dir = this.#layout.packageIncoming(packageId);
    const names = await readdir(dir).catch(() => [] as string[]);
    const known = this.#pendingSizes.get(packageId);
    const sizes = new Map<string, number>();
    let bytes = 0;
    for (const name of names) {
      if (!chunkName.test(name)) continue; // temp files of writes in progress
      let size = known?.get(name);
      if (size === undefined) {
        const s = await stat(`${dir}/${name}`).catch(() => null);
        if (!s) continue; // consumed by an activation meanwhile
        size = s.size;
      }
      sizes.set(name, size);
      bytes += size;
    }
    // Only what is still there is kept: the map never outgrows the folder.
    if (sizes.size > 0) this.#pendingSizes.set(packageId, sizes);
    else this.#pendingSizes.delete(packageId);
    return { chunks: sizes.size, bytes };
  }

  /** Which of `ids` already wait, verified, for a pending version of `packageId`. */
  async received(packageId: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const id of ids) {
      if (!chunkName.test(id)) continue;
      const ok = await access(this.#layout.incomingChunk(packageId, id)).then(
        () => true,
        () => false,
      );
      if (ok) found.add(id);
    }
    return found;
  }

  /** Ids of the verified chunks waiting for a pending version of `packageId`. */
  async receivedIds(packageId: string): Promise<Set<string>> {
    const names = await readdir(this.#layout.packageIncoming(packageId)).catch(() => [] as string[]);
    return new Set(names.filter((n) => chunkName.test(n)));
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
