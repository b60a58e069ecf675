import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasWimlib, wimlib } from '../wim/wimlib-cli.test-helpers.js';
import { ChunkerPool } from './chunker-pool.js';
import { fastPseudoRandomBytes, useTempDirs } from './chunking.test-helpers.js';
import { chunkBoundaries } from './fastcdc.js';
import { MemorySink } from './memory-sink.test-helpers.js';
import { planSegments } from './segment-plan.js';
import { snapshotSource } from './snapshot.js';
import type { Manifest } from './types.js';
import { readWimCuts, wimCuts } from './wim-boundaries.js';

const tempDir = useTempDirs();
// Small segments: large resources span several segments, so stitching runs inside regions too.
const pool = new ChunkerPool({ threads: 2, segmentBytes: 1024 * 1024 });
afterAll(() => pool.close());

const KiB = 1024;
const MiB = 1024 * 1024;

/** Bytes LZX compresses about in half: pseudo-random, with every other 16 KiB mapped onto 16 letters. */
function partlyCompressible(length: number, seed: number): Buffer {
  const out = Buffer.from(fastPseudoRandomBytes(length, seed));
  const letters = Buffer.from('etaoinshrdlucmf ');
  for (let p = 0; p < length; p += 32 * KiB) {
    for (let i = p; i < Math.min(length, p + 16 * KiB); i++) out[i] = letters[out[i]! & 15]!;
  }
  return out;
}

interface Blob {
  readonly offset: number;
  readonly storedSize: number;
  readonly originalSize: number;
}

/** The blob table as `wimlib-imagex info --blobs` prints it (an independent reading). */
function wimlibBlobs(path: string): Blob[] {
  const text = wimlib(['info', path, '--blobs']).toString('utf8');
  return text
    .split(/\n\s*\n/)
    .filter((b) => b.includes('Offset in WIM'))
    .map((b) => ({
      offset: Number(/Offset in WIM\s*=\s*(\d+)/.exec(b)![1]),
      storedSize: Number(/Compressed size\s*=\s*(\d+)/.exec(b)![1]),
      originalSize: Number(/Uncompressed size\s*=\s*(\d+)/.exec(b)![1]),
    }));
}

/** Offsets where the compression chunks of a compressed blob start, read from its chunk table here. */
function compressionChunkStarts(wim: Buffer, b: Blob): number[] {
  if (b.storedSize === b.originalSize) return [];
  const entries = Math.ceil(b.originalSize / (32 * KiB)) - 1;
  const dataStart = b.offset + entries * 4;
  const starts = [dataStart];
  for (let i = 0; i < entries; i++) starts.push(dataStart + wim.readUInt32LE(b.offset + 4 * i));
  return starts;
}

/** Start and end of the blob table, XML and integrity table, and the header's end. */
function tableEdges(wim: Buffer): number[] {
  const edges = [208];
  for (const at of [0x30, 0x48, 0x7c]) {
    const stored = wim.readUIntLE(at, 6);
    const offset = Number(wim.readBigUInt64LE(at + 8));
    if (stored > 0) edges.push(offset, offset + stored);
  }
  return edges;
}

function capture(root: string, wim: string, compress: 'LZX' | 'none'): void {
  execFileSync('wimlib-imagex', ['capture', root, wim, 'Test', `--compress=${compress}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60_000,
  });
}

function makeTree(root: string): void {
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'big-a.bin'), partlyCompressible(3 * MiB + 777, 1));
  writeFileSync(join(root, 'sub', 'big-b.bin'), partlyCompressible(2 * MiB, 2));
  writeFileSync(join(root, 'sub', 'mid.bin'), partlyCompressible(300 * KiB, 3));
  for (let i = 0; i < 20; i++) writeFileSync(join(root, `small-${i}.txt`), `small file ${i}\n`.repeat(i + 1));
}

function cutsOfManifest(m: Manifest): Set<number> {
  const cuts = new Set<number>();
  let at = 0;
  for (const c of m.files[0]!.chunks) cuts.add((at += c.size));
  return cuts;
}

async function snapshotWim(
  wim: string,
  wimAware: boolean,
): Promise<{ sink: MemorySink; manifest: Manifest }> {
  const sink = new MemorySink();
  const snap = await snapshotSource(wim, sink, {
    packageId: 'PS100001',
    sourceVersion: 1,
    pool,
    wimAwareChunking: wimAware,
  });
  return { sink, manifest: snap.manifest };
}

/** A 208-byte header of part 1 of 2 of an LZX WIM whose blob table is `tableBytes` long at `tableOffset`. */
function header(tableOffset: number, tableBytes: number): Buffer {
  const h = Buffer.alloc(208);
  h.write('MSWIM\0\0\0', 0, 'latin1');
  h.writeUInt32LE(208, 0x08);
  h.writeUInt32LE(0x10d00, 0x0c);
  h.writeUInt32LE(0x40002, 0x10);
  h.writeUInt32LE(32 * KiB, 0x14);
  h.writeUInt16LE(1, 0x28);
  h.writeUInt16LE(2, 0x2a);
  h.writeUInt32LE(1, 0x2c);
  h.writeUIntLE(tableBytes, 0x30, 6);
  h[0x37] = 0x2;
  h.writeBigUInt64LE(BigInt(tableOffset), 0x38);
  h.writeBigUInt64LE(BigInt(tableBytes), 0x40);
  return h;
}

/** A 50-byte blob table entry. */
function entry(offset: number, storedSize: number, originalSize: number, flags: number, part = 1): Buffer {
  const e = Buffer.alloc(50);
  e.writeUIntLE(storedSize, 0, 6);
  e[7] = flags;
  e.writeBigUInt64LE(BigInt(offset), 8);
  e.writeBigUInt64LE(BigInt(originalSize), 16);
  e.writeUInt16LE(part, 24);
  e.writeUInt32LE(1, 26);
  return e;
}

describe('wimCuts (pure)', () => {
  const size = 10 * MiB;
  const tableAt = 9 * MiB;

  it('cuts at large resources, after their chunk tables, and around the blob table; not at small ones', () => {
    const table = Buffer.concat([
      entry(208, 2 * MiB, 4 * MiB, 0x4), // compressed: 4 MiB / 32 KiB = 128 chunks, 127 × 4-byte entries
      entry(208 + 2 * MiB, 1000, 3000, 0x4), // small: no cuts of its own
      entry(3 * MiB, 1 * MiB, 1 * MiB, 0), // stored uncompressed: no chunk table
      entry(5 * MiB, 200 * KiB, 200 * KiB, 0, 2), // in another part of the split set
    ]);
    expect(wimCuts(header(tableAt, table.length), table, size)).toEqual([
      208,
      208 + 127 * 4,
      208 + 2 * MiB,
      3 * MiB,
      4 * MiB,
      tableAt,
      tableAt + table.length,
    ]);
  });

  it('gives no cuts for garbage: bad magic, a table past the file, an entry past the file, a ragged table', () => {
    const table = entry(208, 2 * MiB, 4 * MiB, 0x4);
    const bad = Buffer.from(header(tableAt, 50));
    bad.write('NOTAWIM!', 0, 'latin1');
    expect(wimCuts(bad, table, size)).toEqual([]);
    expect(wimCuts(header(size - 10, 50), table, size)).toEqual([]);
    expect(wimCuts(header(tableAt, 50), entry(9 * MiB + 100, 2 * MiB, 2 * MiB, 0), size)).toEqual([]);
    expect(wimCuts(header(tableAt, 49), table.subarray(0, 49), size)).toEqual([]);
    expect(wimCuts(header(tableAt, 50), entry(208, 2 * MiB, 4 * MiB, 0x4, 3), size)).toEqual([]);
    expect(wimCuts(header(tableAt, 50), Buffer.from(fastPseudoRandomBytes(50, 9)), size)).toEqual([]);
    expect(wimCuts(Buffer.alloc(208), Buffer.alloc(0), size)).toEqual([]);
  });

  it('gives no cuts for a solid WIM (its resources are not per stream)', () => {
    const h = header(tableAt, 50);
    h.writeUInt32LE(0xe00, 0x0c);
    expect(wimCuts(h, entry(208, 2 * MiB, 4 * MiB, 0x4), size)).toEqual([]);
  });
});

describe('planSegments', () => {
  it('without cuts is fixed-size segments whose chains run to the end of the file', () => {
    expect(planSegments(25, 10)).toEqual([
      { start: 0, end: 10, dataEnd: 25, whole: false },
      { start: 10, end: 20, dataEnd: 25, whole: false },
      { start: 20, end: 25, dataEnd: 25, whole: false },
    ]);
  });

  it('never lets a segment or a chain cross a cut', () => {
    expect(planSegments(25, 10, { cuts: [3, 15], wholeFrom: [], wholeMaxBytes: 0 })).toEqual([
      { start: 0, end: 3, dataEnd: 3, whole: false },
      { start: 3, end: 13, dataEnd: 15, whole: false },
      { start: 13, end: 15, dataEnd: 15, whole: false },
      { start: 15, end: 25, dataEnd: 25, whole: false },
    ]);
  });

  it('keeps a region one chunk when it starts at a whole-region start and is short enough', () => {
    expect(planSegments(40, 10, { cuts: [3, 15, 30], wholeFrom: [3, 15], wholeMaxBytes: 12 })).toEqual([
      { start: 0, end: 3, dataEnd: 3, whole: false },
      { start: 3, end: 15, dataEnd: 15, whole: true },
      { start: 15, end: 25, dataEnd: 30, whole: false },
      { start: 25, end: 30, dataEnd: 30, whole: false },
      { start: 30, end: 40, dataEnd: 40, whole: false },
    ]);
  });

  it('rejects cuts out of order or outside the file, naming them', () => {
    expect(() => planSegments(25, 10, { cuts: [5, 5], wholeFrom: [], wholeMaxBytes: 0 })).toThrow(
      /forced chunk cuts .* got 5 after 5/,
    );
    expect(() => planSegments(25, 10, { cuts: [25], wholeFrom: [], wholeMaxBytes: 0 })).toThrow(
      /inside \(0, 25\)/,
    );
  });
});

describe.skipIf(!hasWimlib() && process.env.CI !== 'true')('WIM-aware snapshot of real WIMs', () => {
  if (!hasWimlib()) {
    console.warn('wim-boundaries.test: wimlib-imagex not installed (apt-get install wimtools): skipped');
  }

  for (const compress of ['LZX', 'none'] as const) {
    it(`cuts a ${compress} WIM at every large blob's start and end, and reassembles it byte for byte`, async () => {
      if (!hasWimlib()) throw new Error('wimlib-imagex is required under CI=true (apt-get install wimtools)');
      const dir = tempDir();
      makeTree(join(dir, 'tree'));
      const wim = join(dir, 'install.wim');
      capture(join(dir, 'tree'), wim, compress);
      const size = readFileSync(wim).length;

      const { cuts, wholeFrom, wholeMaxBytes } = await readWimCuts(wim, size);
      const blobs = wimlibBlobs(wim);
      const large = blobs.filter((b) => b.storedSize >= 64 * KiB);
      expect(large.length).toBeGreaterThanOrEqual(3);
      for (const b of large) {
        expect(cuts).toContain(b.offset);
        expect(cuts).toContain(b.offset + b.storedSize);
      }

      const { sink, manifest } = await snapshotWim(wim, true);
      sink.expectIdentical(manifest, dir);
      const boundaries = cutsOfManifest(manifest);
      for (const c of cuts) expect(boundaries.has(c)).toBe(true);
      const bytes = readFileSync(wim);
      // Every cut is a resource boundary, a chunk table's end, or a compression-chunk boundary.
      const allowed = new Set(tableEdges(bytes));
      for (const b of blobs) {
        allowed.add(b.offset).add(b.offset + b.storedSize);
        for (const c of compressionChunkStarts(bytes, b)) allowed.add(c);
      }
      for (const c of cuts) expect(allowed.has(c)).toBe(true);
      if (compress === 'LZX') {
        const insideStreams = cuts.filter(
          (c) => !blobs.some((b) => c === b.offset || c === b.offset + b.storedSize),
        );
        expect(insideStreams.length).toBeGreaterThan(large.length);
      }
      // Each region is one chunk when whole and short enough, else plain FastCDC of that region's bytes.
      const whole = new Set(wholeFrom);
      const expected: number[] = [];
      const edges = [0, ...cuts, size];
      for (let r = 0; r + 1 < edges.length; r++) {
        const region = bytes.subarray(edges[r], edges[r + 1]);
        if (whole.has(edges[r]!) && region.length <= wholeMaxBytes) expected.push(edges[r + 1]!);
        else for (const end of chunkBoundaries(region)) expected.push(edges[r]! + end);
      }
      expect([...boundaries]).toEqual(expected);
    });
  }

  it('sends only the changed compression chunks of a stream (and little around them) after a re-capture', async () => {
    if (!hasWimlib()) throw new Error('wimlib-imagex is required under CI=true (apt-get install wimtools)');
    const dir = tempDir();
    const tree = join(dir, 'tree');
    makeTree(tree);
    const v1 = join(dir, 'v1.wim');
    capture(tree, v1, 'LZX');
    // An insertion before big-a.bin in the WIM (a new stream) and a 4 KiB overwrite in big-a.bin's middle.
    writeFileSync(join(tree, 'aa-added.bin'), partlyCompressible(700 * KiB, 4));
    const a = readFileSync(join(tree, 'big-a.bin'));
    a.set(fastPseudoRandomBytes(4 * KiB, 5), 1536 * KiB);
    writeFileSync(join(tree, 'big-a.bin'), a);
    const v2 = join(dir, 'v2.wim');
    capture(tree, v2, 'LZX');

    const chunksOf = async (wim: string): Promise<Map<string, number>> => {
      const { sink, manifest } = await snapshotWim(wim, true);
      sink.expectIdentical(manifest, dir);
      const out = new Map<string, number>();
      let at = 0;
      for (const c of manifest.files[0]!.chunks) {
        out.set(c.id, at);
        at += c.size;
      }
      return out;
    };
    const c1 = await chunksOf(v1);
    const m2 = (await snapshotWim(v2, true)).manifest.files[0]!.chunks;
    // big-a.bin: the v2 blob with the same uncompressed size as in v1, but a different place.
    const bytes2 = readFileSync(v2);
    const bigA = wimlibBlobs(v2).find((b) => b.originalSize === 3 * MiB + 777)!;
    const starts = compressionChunkStarts(bytes2, bigA);
    const bytes1 = readFileSync(v1);
    const old = wimlibBlobs(v1).find((b) => b.originalSize === 3 * MiB + 777)!;
    const oldChunks = new Set(
      compressionChunkStarts(bytes1, old).map((s, i, all) =>
        bytes1.subarray(s, all[i + 1] ?? old.offset + old.storedSize).toString('hex'),
      ),
    );
    const changed = starts
      .map((s, i) => [s, starts[i + 1] ?? bigA.offset + bigA.storedSize] as const)
      .filter(([s, e]) => !oldChunks.has(bytes2.subarray(s, e).toString('hex')));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(2);
    const changedBytes = changed.reduce((n, [s, e]) => n + e - s, 0);
    // New chunks of v2 inside big-a's compressed data.
    let sent = 0;
    let at = 0;
    for (const c of m2) {
      const inside = at >= starts[0]! && at + c.size <= bigA.offset + bigA.storedSize;
      if (inside && !c1.has(c.id)) {
        sent += c.size;
        // A new chunk touches the changed compression chunks: the rest came through the move intact.
        expect(changed.some(([s, e]) => at < e + 256 * KiB && at + c.size > s - 256 * KiB)).toBe(true);
      }
      at += c.size;
    }
    expect(sent).toBeGreaterThanOrEqual(changedBytes);
    // About one selected region of slack (measured: +29 KiB; FastCDC inside the stream: +156 KiB).
    expect(sent).toBeLessThanOrEqual(changedBytes + 96 * KiB);
  });

  it('gives a stream whose chunk table is garbage its resource cuts only, and still reassembles it', async () => {
    if (!hasWimlib()) throw new Error('wimlib-imagex is required under CI=true (apt-get install wimtools)');
    const dir = tempDir();
    makeTree(join(dir, 'tree'));
    const wim = join(dir, 'install.wim');
    capture(join(dir, 'tree'), wim, 'LZX');
    const bytes = readFileSync(wim);
    const bigA = wimlibBlobs(wim).find((b) => b.originalSize === 3 * MiB + 777)!;
    const tableEnd = compressionChunkStarts(bytes, bigA)[0]!;
    bytes.set(fastPseudoRandomBytes(tableEnd - bigA.offset, 8), bigA.offset);
    writeFileSync(wim, bytes);

    const { cuts } = await readWimCuts(wim, bytes.length);
    expect(cuts).toContain(bigA.offset);
    expect(cuts).toContain(tableEnd);
    expect(cuts).toContain(bigA.offset + bigA.storedSize);
    expect(cuts.filter((c) => c > tableEnd && c < bigA.offset + bigA.storedSize)).toEqual([]);
    // The other large compressed streams still get compression-chunk cuts.
    expect(cuts.length).toBeGreaterThan(
      wimlibBlobs(wim).filter((b) => b.storedSize >= 64 * KiB).length * 2 + 4,
    );
    const { sink, manifest } = await snapshotWim(wim, true);
    sink.expectIdentical(manifest, dir);
  });

  it('chunks a .wim with a garbage blob table exactly as any other file, without failing', async () => {
    if (!hasWimlib()) throw new Error('wimlib-imagex is required under CI=true (apt-get install wimtools)');
    const dir = tempDir();
    makeTree(join(dir, 'tree'));
    const wim = join(dir, 'install.wim');
    capture(join(dir, 'tree'), wim, 'LZX');
    const bytes = readFileSync(wim);
    const tableAt = Number(bytes.readBigUInt64LE(0x38));
    bytes.set(fastPseudoRandomBytes(400, 7), tableAt);
    writeFileSync(wim, bytes);

    expect(await readWimCuts(wim, bytes.length)).toEqual({ cuts: [], wholeFrom: [], wholeMaxBytes: 0 });
    const aware = await snapshotWim(wim, true);
    const plain = await snapshotWim(wim, false);
    aware.sink.expectIdentical(aware.manifest, dir);
    expect(aware.manifest.files[0]!.chunks).toEqual(plain.manifest.files[0]!.chunks);
    expect([...cutsOfManifest(plain.manifest)]).toEqual(chunkBoundaries(bytes));
  });
});
