/**
 * Generated benchmark inputs: deterministic, never deduplicating, partly compressible bytes; single files
 * and file trees of mixed sizes; and page-cache warming so every tool starts from the same cache state.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MiB } from './timing.js';

const BLOCK = 4 * MiB;
const PIECE = 64 * 1024;
/** 16 symbols: 4 bits of entropy per byte, so such a piece compresses to about half. */
const TEXT = Buffer.from('etaoinshrdlucmf ');

/**
 * An endless pseudo-random byte stream from AES-128-CTR. About half of its 64 KiB pieces (chosen by the
 * keystream) are mapped onto a 16-letter alphabet, so the whole compresses to roughly 75 % (casync
 * compresses its chunks; sitecast does not) but no two chunks are ever equal.
 */
export class ByteStream {
  readonly #cipher;
  readonly #zeros = Buffer.alloc(BLOCK);
  #block = Buffer.alloc(0);
  #pos = 0;

  constructor(seed: string) {
    const key = createHash('sha256').update(seed).digest();
    this.#cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  }

  /** The next `n` bytes (a fresh buffer). */
  next(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      if (this.#pos === this.#block.length) this.#refill();
      const take = Math.min(n - filled, this.#block.length - this.#pos);
      this.#block.copy(out, filled, this.#pos, this.#pos + take);
      filled += take;
      this.#pos += take;
    }
    return out;
  }

  #refill(): void {
    const block = this.#cipher.update(this.#zeros);
    for (let p = 0; p < block.length; p += PIECE) {
      if ((block[p]! & 1) === 0) continue;
      for (let i = p, end = p + PIECE; i < end; i++) block[i] = TEXT[block[i]! & 15]!;
    }
    this.#block = block;
    this.#pos = 0;
  }
}

/** Writes `bytes` of the stream seeded `seed` to `path` (memory stays at one block). */
export function generateFile(path: string, bytes: number, seed: string): void {
  writeStream(path, bytes, new ByteStream(seed));
}

function writeStream(path: string, bytes: number, stream: ByteStream): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(BLOCK, bytes - done);
      writeSync(fd, stream.next(n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

export interface GeneratedTree {
  readonly root: string;
  readonly files: readonly string[];
  readonly totalBytes: number;
  readonly directories: number;
  readonly smallest: number;
  readonly medianSize: number;
  readonly largest: number;
}

/**
 * A tree of `count` files totalling about `totalBytes`: sizes log-uniform between 100 B and 1 MiB (many
 * small files, most bytes in the larger ones, as in a software source), scaled to the total; every 1000th
 * file is empty. Files sit two levels deep, 20 × 5 directories.
 */
export function generateTree(root: string, count: number, totalBytes: number, seed: string): GeneratedTree {
  const rand = mulberry32(Number.parseInt(createHash('sha256').update(seed).digest('hex').slice(0, 8), 16));
  const raw = Array.from({ length: count }, (_, i) =>
    i % 1000 === 999 ? 0 : Math.exp(Math.log(100) + rand() * (Math.log(MiB) - Math.log(100))),
  );
  const k = totalBytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((s) => Math.round(s * k));
  const stream = new ByteStream(seed);
  const files: string[] = [];
  const dirs = new Set<string>();
  for (let i = 0; i < count; i++) {
    const dir = join(root, `dir${String(i % 20).padStart(2, '0')}`, `sub${Math.floor(i / 20) % 5}`);
    dirs.add(dir);
    const file = join(dir, `file-${String(i).padStart(5, '0')}.bin`);
    writeStream(file, sizes[i]!, stream);
    files.push(file);
  }
  const sorted = [...sizes].sort((a, b) => a - b);
  return {
    root,
    files,
    totalBytes: sizes.reduce((a, b) => a + b, 0),
    directories: dirs.size,
    smallest: sorted[0]!,
    medianSize: sorted[sorted.length >> 1]!,
    largest: sorted[sorted.length - 1]!,
  };
}

/**
 * Prepares the page cache alike for every tool: `sync` first, so dirty pages a previous run left (casync
 * does not fsync its store) are not written back during the next tool's run, then every file read once.
 * Returns the bytes read.
 */
export function warmPageCache(paths: readonly string[]): number {
  spawnSync('sync');
  const buf = Buffer.allocUnsafe(BLOCK);
  let total = 0;
  for (const p of paths) {
    const fd = openSync(p, 'r');
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) total += n;
    } finally {
      closeSync(fd);
    }
  }
  return total;
}

/** A small seeded PRNG (uniform in [0, 1)): the tree's shape must be the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
