/**
 * Manifests on a filesystem: `<root>/manifests/<id>`, the canonical bytes, written temp-then-rename with
 * fsync, and verified against their id on every read. Re-putting an existing manifest rewrites it, which
 * refreshes its mtime (GC's grace period counts from the last put). Observers are told of every put before it is written, so a
 * GC in progress marks a manifest that appears while it runs (see gc.ts).
 */
import { mkdir, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SitecastError } from '../kernel/index.js';
import { fsyncDir, isErrno, removeIfAbandoned, storeIoError, writeFileDurable } from './durable-file.js';
import { decodeManifest, encodeManifest, manifestIdOf } from './manifest.js';
import type { Manifest, ManifestStore } from './types.js';

const idPattern = /^[0-9a-f]{64}$/;
const tmpPattern = /^[0-9a-f]{64}\.tmp-/;

export type ManifestPutListener = (id: string, manifest: Manifest) => void;

export class FsManifestStore implements ManifestStore {
  readonly dir: string;
  readonly #listeners = new Set<ManifestPutListener>();
  #tmpCounter = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Opens (creating if needed) `<root>/manifests`, removing temp files an interrupted put left (once older
   * than LEFTOVER_GRACE_MS: a younger one may be another process's put in progress).
   */
  static async open(root: string): Promise<FsManifestStore> {
    const dir = join(root, 'manifests');
    try {
      await mkdir(dir, { recursive: true });
      for (const name of await readdir(dir))
        if (tmpPattern.test(name)) await removeIfAbandoned(join(dir, name));
    } catch (e) {
      throw storeIoError(e, `opening manifest directory ${dir}`);
    }
    return new FsManifestStore(dir);
  }

  /** Calls `listener` synchronously at the start of every putManifest; returns the unsubscribe function. */
  onPut(listener: ManifestPutListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async putManifest(manifest: Manifest): Promise<string> {
    const bytes = encodeManifest(manifest);
    // encodeManifest checks paths but not the schema (e.g. the PackageID form); a manifest that could not
    // be read back must not be stored.
    try {
      decodeManifest(bytes);
    } catch (e) {
      if (e instanceof SitecastError && e.code === 'CORRUPT_DATA') {
        throw new SitecastError(
          'INVALID_PARAMETER',
          e.message.replace(/^manifest /, 'manifest to store: '),
          e.details,
        );
      }
      throw e;
    }
    const id = manifestIdOf(bytes);
    for (const listener of this.#listeners) listener(id, manifest);
    // Always rewritten, even when present: it refreshes the mtime GC's grace period reads, and repairs a
    // damaged copy.
    const path = join(this.dir, id);
    await writeFileDurable(path, `${path}.tmp-${process.pid}-${this.#tmpCounter++}`, bytes);
    return id;
  }

  async getManifest(id: string): Promise<Manifest> {
    const bytes = await this.#read(id);
    try {
      return decodeManifest(bytes);
    } catch (e) {
      if (e instanceof SitecastError) {
        throw new SitecastError('CORRUPT_DATA', `manifest ${join(this.dir, id)}: ${e.message}`, {
          ...e.details,
          path: join(this.dir, id),
          manifestId: id,
        });
      }
      throw e;
    }
  }

  getManifestBytes(id: string): Promise<Buffer> {
    return this.#read(id);
  }

  async hasManifest(id: string): Promise<boolean> {
    assertManifestId(id);
    try {
      await stat(join(this.dir, id));
      return true;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw storeIoError(e, `checking manifest ${id}`);
    }
  }

  async listManifests(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => idPattern.test(n)).sort();
    } catch (e) {
      throw storeIoError(e, `listing manifests in ${this.dir}`);
    }
  }

  /** Epoch ms of the manifest's last put, or null when it does not exist. */
  async manifestTime(id: string): Promise<number | null> {
    assertManifestId(id);
    try {
      return (await stat(join(this.dir, id))).mtimeMs;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return null;
      throw storeIoError(e, `checking manifest ${id}`);
    }
  }

  /** Idempotent: deleting a manifest that is not there succeeds. */
  async deleteManifest(id: string): Promise<void> {
    assertManifestId(id);
    const path = join(this.dir, id);
    try {
      await unlink(path);
      await fsyncDir(this.dir);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw storeIoError(e, `deleting manifest ${path}`);
    }
  }

  /** The canonical bytes, checked against the id (CORRUPT_DATA naming the file otherwise). */
  async #read(id: string): Promise<Buffer> {
    assertManifestId(id);
    const path = join(this.dir, id);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) {
        throw new SitecastError('NOT_FOUND', `manifest ${id} is not in the content library`, {
          manifestId: id,
        });
      }
      throw storeIoError(e, `reading manifest ${path}`);
    }
    if (manifestIdOf(bytes) !== id) {
      throw new SitecastError('CORRUPT_DATA', `manifest ${path} does not hash to its id`, {
        path,
        manifestId: id,
      });
    }
    return bytes;
  }
}

function assertManifestId(id: string): void {
  if (!idPattern.test(id)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `manifest id ${JSON.stringify(id)} is not 64 lowercase hex digits`,
      { field: 'manifestId' },
    );
  }
}
