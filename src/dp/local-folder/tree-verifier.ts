/** Re-hashes a presented tree against its manifest without changing anything (VerifyPackage). */
import { lstat, open } from 'node:fs/promises';
import { sha256Hex } from '../../content/index.js';
import type { ChunkId, Manifest } from '../../content/index.js';
import { errnoOf } from './durable-fs.js';
import { pathInside, throwIfCancelled } from './tree-assembler.js';

export interface TreeVerifyResult {
  readonly filesChecked: number;
  readonly bytesChecked: number;
  readonly badChunks: { readonly id: ChunkId; readonly path: string; readonly offset: number }[];
  readonly badFiles: string[];
}

/**
 * A file missing (or not a regular file) is reported in `badFiles` only; a file of the wrong size is
 * reported there and its chunks are still checked, so a truncated file names the chunks it lost.
 */
export async function verifyTree(
  tree: string,
  manifest: Manifest,
  signal?: AbortSignal,
): Promise<TreeVerifyResult> {
  const result: TreeVerifyResult = { filesChecked: 0, bytesChecked: 0, badChunks: [], badFiles: [] };
  let bytesChecked = 0;
  let filesChecked = 0;
  for (const file of manifest.files) {
    filesChecked++;
    throwIfCancelled(signal, `verifying ${manifest.packageId}`);
    const path = pathInside(tree, file.path);
    let size: number;
    try {
      const stat = await lstat(path);
      if (!stat.isFile()) {
        result.badFiles.push(file.path);
        continue;
      }
      size = stat.size;
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ENOTDIR') throw e;
      result.badFiles.push(file.path);
      continue;
    }
    if (size !== file.size) result.badFiles.push(file.path);
    const handle = await open(path, 'r');
    try {
      let offset = 0;
      for (const chunk of file.chunks) {
        throwIfCancelled(signal, `verifying ${manifest.packageId}`);
        const buffer = Buffer.allocUnsafe(chunk.size);
        const { bytesRead } = await handle.read(buffer, 0, chunk.size, offset);
        bytesChecked += bytesRead;
        if (bytesRead !== chunk.size || sha256Hex(buffer) !== chunk.id) {
          result.badChunks.push({ id: chunk.id, path: file.path, offset });
        }
        offset += chunk.size;
      }
    } finally {
      await handle.close();
    }
  }
  return { ...result, filesChecked, bytesChecked };
}
