/** Test support for the chunker, pool and snapshot tests. */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** Deterministic bytes from a xorshift32 generator (the same seed always gives the same bytes). */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Deterministic pseudo-random bytes at memcpy-like speed (AES-128-CTR of zeros, key from the seed). */
export function fastPseudoRandomBytes(length: number, seed: number): Uint8Array {
  const key = createHash('sha256').update(`seed:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const out = cipher.update(new Uint8Array(length));
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A fresh temp dir per call, removed after the current test. */
export function useTempDirs(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), 'sitecast-content-'));
    dirs.push(d);
    return d;
  };
}
