import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StagedFileWriter } from './staged-file-writer.js';

const made: string[] = [];

afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The disk (direct writes) and, where there is one, tmpfs (direct writes refused on older kernels). */
const places = [tmpdir(), ...(existsSync('/dev/shm') ? ['/dev/shm'] : [])];

async function writeWith(dir: string, pieces: readonly Buffer[]): Promise<Buffer> {
  const path = join(dir, 'out.bin');
  const handle = await open(path, 'wx', 0o600);
  try {
    const out = await StagedFileWriter.open(path, handle);
    try {
      for (const piece of pieces) {
        await out.write(piece);
        // The writer copied the piece: scribbling over it now must not change the file.
        piece.fill(0xee);
      }
      await out.finish();
    } finally {
      await out.close();
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return readFile(path);
}

describe.each(places)('StagedFileWriter in %s', (place) => {
  it('writes exactly the bytes given, across staging buffers and with an unaligned tail', async () => {
    const dir = await mkdtemp(join(place, 'sitecast-staged-'));
    made.push(dir);
    // 8 MiB staging: pieces that straddle it, a tiny one, and a tail that is not a multiple of 4 KiB.
    const pieces = [randomBytes(5_000_001), randomBytes(3), randomBytes(4_000_000), randomBytes(12_345)];
    const want = Buffer.concat(pieces);
    const got = await writeWith(dir, pieces);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
  });

  it('writes an empty file and a file of exactly one block', async () => {
    const dir = await mkdtemp(join(place, 'sitecast-staged-'));
    made.push(dir);
    expect((await writeWith(dir, [])).length).toBe(0);
    await rm(join(dir, 'out.bin'));
    const block = randomBytes(4096);
    const want = Buffer.from(block);
    expect((await writeWith(dir, [block])).equals(want)).toBe(true);
  });
});
