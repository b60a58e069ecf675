/**
 * The DP's chunk index, built from the current manifest of every package it presents: a chunk the DP
 * "has" is a byte range of some current tree. It is an index, not a promise: the bytes are re-hashed
 * whenever they are used to build a new version.
 */
import type { ChunkId, Manifest } from '../../content/index.js';

export interface CurrentVersion {
  readonly packageId: string;
  readonly version: number;
  readonly manifestId: string;
  /** Name of the version directory under `.sitecast/versions/<PackageID>/`. */
  readonly versionDir: string;
  readonly manifest: Manifest;
}

export interface ChunkLocation {
  readonly packageId: string;
  readonly versionDir: string;
  readonly path: string;
  readonly offset: number;
  readonly size: number;
}

export class ChunkIndex {
  private readonly packages = new Map<string, CurrentVersion>();
  /** At most one location per package per chunk: enough to seed from, and bounded by the package count. */
  private readonly locations = new Map<ChunkId, ChunkLocation[]>();

  current(packageId: string): CurrentVersion | undefined {
    return this.packages.get(packageId);
  }

  packageIds(): string[] {
    return [...this.packages.keys()];
  }

  has(id: ChunkId): boolean {
    return this.locations.has(id);
  }

  locate(id: ChunkId): readonly ChunkLocation[] {
    return this.locations.get(id) ?? [];
  }

  /** Records `current` as what its package presents, replacing the previous version's entries. */
  set(current: CurrentVersion): void {
    this.delete(current.packageId);
    this.packages.set(current.packageId, current);
    const seen = new Set<ChunkId>();
    for (const file of current.manifest.files) {
      let offset = 0;
      for (const chunk of file.chunks) {
        if (!seen.has(chunk.id)) {
          seen.add(chunk.id);
          const location: ChunkLocation = {
            packageId: current.packageId,
            versionDir: current.versionDir,
            path: file.path,
            offset,
            size: chunk.size,
          };
          const list = this.locations.get(chunk.id);
          if (list) list.push(location);
          else this.locations.set(chunk.id, [location]);
        }
        offset += chunk.size;
      }
    }
  }

  delete(packageId: string): void {
    const previous = this.packages.get(packageId);
    if (!previous) return;
    this.packages.delete(packageId);
    for (const file of previous.manifest.files) {
      for (const chunk of file.chunks) {
        const list = this.locations.get(chunk.id);
        if (!list) continue;
        const rest = list.filter((l) => l.packageId !== packageId);
        if (rest.length === 0) this.locations.delete(chunk.id);
        else if (rest.length !== list.length) this.locations.set(chunk.id, rest);
      }
    }
  }

  clear(): void {
    this.packages.clear();
    this.locations.clear();
  }
}
