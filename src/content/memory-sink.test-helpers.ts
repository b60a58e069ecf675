/** An in-memory IngestSink for tests: verifies ids, keeps copies of the bytes, counts calls. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from './manifest.js';
import type { ChunkId, IngestSink, Manifest } from './types.js';

export class MemorySink implements IngestSink {
  readonly chunks = new Map<ChunkId, Buffer>();
  addCalls = 0;
  flushes = 0;
  /** Called after each addChunk, e.g. to change a source file in the middle of a read. */
  onAdd: ((id: ChunkId) => void) | undefined;

  hasChunk(id: ChunkId): boolean {
    return this.chunks.has(id);
  }

  addChunk(id: ChunkId, bytes: Uint8Array): Promise<void> {
    if (sha256Hex(bytes) !== id) throw new Error(`chunk bytes do not hash to ${id}`);
    if (this.chunks.has(id)) throw new Error(`chunk ${id} added twice`);
    this.addCalls++;
    this.chunks.set(id, Buffer.from(bytes));
    this.onAdd?.(id);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    this.flushes++;
    return Promise.resolve();
  }

  end(): Promise<void> {
    return Promise.resolve();
  }

  /** The file's bytes as the manifest and the stored chunks describe them. */
  reassemble(manifest: Manifest, path: string): Buffer {
    const file = manifest.files.find((f) => f.path === path);
    if (!file) throw new Error(`${path} is not in the manifest`);
    return Buffer.concat(
      file.chunks.map((c) => {
        const bytes = this.chunks.get(c.id);
        if (!bytes) throw new Error(`chunk ${c.id} of ${path} is not in the sink`);
        return bytes;
      }),
    );
  }

  /** Asserts every manifest file reassembles to the bytes of `root/path` on disk. */
  expectIdentical(manifest: Manifest, root: string): void {
    for (const f of manifest.files) {
      const onDisk = readFileSync(join(root, f.path));
      if (!onDisk.equals(this.reassemble(manifest, f.path))) throw new Error(`${f.path} does not reassemble`);
    }
  }
}
