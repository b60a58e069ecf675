/**
 * The port every kind of distribution point implements: a folder on the site server's disk (this issue),
 * a remote DP agent over HTTP (`/dp/v1`, design §4) and an S3 bucket later. The distribution service only
 * ever talks to DPs through this interface.
 *
 * The protocol of one transfer: `missingChunks` (what the DP lacks to build the version), `putChunks` for
 * those (each verified on arrival), then `activate` (the DP assembles and verifies the whole version, then
 * switches atomically; MISSING_CHUNKS with `details.missing` if something is still lacking).
 */
import type { ChunkId, Manifest } from '../content/index.js';

export interface DpChunk {
  readonly id: ChunkId;
  readonly bytes: Buffer;
}

export interface DpPackageState {
  /** SourceVersion the DP currently serves. */
  readonly version: number;
  readonly manifestId: string;
}

export interface DpVerifyReport {
  readonly packageId: string;
  readonly version: number;
  readonly filesChecked: number;
  readonly bytesChecked: number;
  /** Chunks whose bytes on the DP no longer hash to their id, or cannot be read. */
  readonly badChunks: readonly { readonly id: ChunkId; readonly path: string; readonly offset: number }[];
  /** Files of the manifest missing on the DP or of the wrong size. */
  readonly badFiles: readonly string[];
}

export interface DpHealth {
  /** The DP answers and can store content. */
  readonly online: boolean;
  readonly freeBytes?: number;
  /** Size of the DP's volume, when known (free space as a share of it). */
  readonly totalBytes?: number;
  readonly error?: string;
}

export interface ActivateOptions {
  /** False for Redistribute: build only from chunks sent for this version, never from what the DP had. */
  readonly seedFromExisting: boolean;
  /**
   * Rebuild even when this manifest is already current (repair after a failed validation): the current
   * tree is re-read as a seed, every range re-hashed, and bad ranges reported missing.
   */
  readonly rebuild?: boolean;
  /**
   * The site's copy of the manifest the DP presents now (by its `packageState`): a remote DP then receives
   * the new manifest as a delta against it (design §3), falling back to the whole manifest if the DP holds
   * another one by then.
   */
  readonly base?: { readonly manifestId: string; readonly manifest: Manifest };
  readonly signal?: AbortSignal;
}

export interface PrepareOptions {
  /** The manifest the DP presents now, if the caller knows it: the new one may travel as a delta against it. */
  readonly base?: { readonly manifestId: string; readonly manifest: Manifest };
  readonly signal?: AbortSignal;
}

export interface DpAdapter {
  readonly kind: 'local' | 'http' | 's3';
  /** Chunk ids among `ids` that the DP cannot supply itself for a new version of `packageId`. */
  missingChunks(packageId: string, ids: readonly ChunkId[], signal?: AbortSignal): Promise<ChunkId[]>;
  /**
   * Announces the version the chunks about to be sent are for (called before them; optional): a DP that
   * knows it writes each chunk straight to its places in the new tree, so it writes and hashes every byte
   * once instead of storing the chunk and copying it again at activation. `base`: as for activate.
   */
  prepare?(
    packageId: string,
    version: number,
    manifestId: string,
    manifestBytes: Buffer,
    options: PrepareOptions,
  ): Promise<void>;
  /** Receives chunks for a pending version of `packageId`; each is hashed and rejected (HASH_MISMATCH) if wrong. */
  putChunks(packageId: string, chunks: readonly DpChunk[], signal?: AbortSignal): Promise<void>;
  /**
   * Assembles the version described by `manifestBytes` (canonical bytes; the DP checks their SHA-256 is
   * `manifestId`), verifies every byte, and switches the package to it atomically. Idempotent: activating
   * the version already current is a no-op, unless `seedFromExisting` is false (Redistribute), which
   * rebuilds it from the chunks sent — the way a damaged copy is replaced.
   */
  activate(
    packageId: string,
    version: number,
    manifestId: string,
    manifestBytes: Buffer,
    options: ActivateOptions,
  ): Promise<void>;
  /** What the DP serves for the package, or null when it has none. */
  packageState(packageId: string): Promise<DpPackageState | null>;
  /** Re-hashes the current version on the DP. */
  verify(packageId: string, signal?: AbortSignal): Promise<DpVerifyReport>;
  /** Removes the package; what other packages on the DP use stays. Idempotent. */
  remove(packageId: string): Promise<void>;
  /** Drops chunks received for a version not yet activated (Redistribute, cancel). */
  discardPending(packageId: string): Promise<void>;
  /** Never throws: a DP that cannot be reached is `{online: false, error}`. */
  health(signal?: AbortSignal): Promise<DpHealth>;
}
