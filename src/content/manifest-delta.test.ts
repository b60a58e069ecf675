import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SitecastError } from '../kernel/index.js';
import { encodeManifest, manifestIdOf } from './manifest.js';
import { applyManifestDelta, encodeManifestDelta, manifestDeltaBaseId } from './manifest-delta.js';
import type { ChunkRef, Manifest, ManifestFile } from './types.js';

function chunk(size = 65536): ChunkRef {
  return { id: randomBytes(32).toString('hex'), size };
}

function file(path: string, chunks: ChunkRef[], mtime = 1_764_000_000_000): ManifestFile {
  return { path, size: chunks.reduce((n, c) => n + c.size, 0), mode: 0o644, mtime, chunks };
}

function manifest(files: ManifestFile[], sourceVersion = 1, directories: string[] = []): Manifest {
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return { format: 1, packageId: 'PS100001', sourceVersion, files: sorted, directories };
}

function roundTrip(base: Manifest, next: Manifest): { deltaBytes: number; fullBytes: number } {
  const baseId = manifestIdOf(encodeManifest(base));
  const full = encodeManifest(next);
  const delta = encodeManifestDelta(base, baseId, next);
  expect(manifestDeltaBaseId(delta)).toBe(baseId);
  const rebuilt = applyManifestDelta(base, baseId, delta, manifestIdOf(full));
  expect(rebuilt.bytes.equals(full)).toBe(true);
  return { deltaBytes: delta.length, fullBytes: full.length };
}

describe('manifest delta', () => {
  const big = Array.from({ length: 3000 }, () => chunk());
  const base = manifest([file('sources/install.wim', big), file('readme.txt', [chunk(100)])], 1, ['empty']);

  it('rebuilds an unchanged manifest from a few bytes', () => {
    const { deltaBytes, fullBytes } = roundTrip(base, { ...base, sourceVersion: 2 });
    expect(deltaBytes).toBeLessThan(64);
    expect(fullBytes).toBeGreaterThan(200_000);
  });

  it('spells out only the changed chunks of a large file', () => {
    const changed = [...big];
    changed.splice(1000, 2, chunk(), chunk(), chunk()); // two replaced, one inserted
    changed[2500] = chunk();
    const next = manifest(
      [
        file('sources/install.wim', changed, 1_764_000_100_000),
        file('readme.txt', [...base.files[0]!.chunks]),
      ],
      2,
      ['empty'],
    );
    const { deltaBytes, fullBytes } = roundTrip(base, next);
    // 4 new chunks × (32-byte id + size) plus a few copy runs and the file header.
    expect(deltaBytes).toBeLessThan(250);
    expect(deltaBytes * 500).toBeLessThan(fullBytes);
  });

  it('handles added, removed and renamed files, new directories and an empty base', () => {
    const next = manifest(
      [file('sources/renamed.wim', big.slice(0, 1500)), file('new.txt', [chunk(10)]), file('empty.bin', [])],
      2,
      ['a', 'b/c'],
    );
    roundTrip(base, next);
    roundTrip(manifest([], 0), next);
    roundTrip(next, manifest([], 3));
  });

  it('keeps runs of unchanged files in a large tree to a few bytes', () => {
    const files = Array.from({ length: 2000 }, (_, i) => file(`dir${i % 20}/f${i}.bin`, [chunk(1000 + i)]));
    const tree = manifest(files);
    const changed = manifest(
      files.map((f, i) => (i === 777 ? file(f.path, [chunk(5)]) : f)),
      2,
    );
    const { deltaBytes, fullBytes } = roundTrip(tree, changed);
    expect(deltaBytes).toBeLessThan(120);
    expect(fullBytes).toBeGreaterThan(100_000);
  });

  it('refers to the canonical order whatever order the given manifests list their files in', () => {
    // The receiver decodes its base from canonical bytes (files sorted by path); a sender holding the same
    // manifests with files in another order must still produce a delta the receiver applies correctly.
    const a = file('z/last.bin', [chunk(), chunk()]);
    const b = file('a/first.bin', [chunk()]);
    const c = file('m/middle.txt', [chunk(100)]);
    const sortedBase = manifest([a, b, c]);
    const unsortedBase: Manifest = { ...sortedBase, files: [a, b, c] };
    const next: Manifest = { ...sortedBase, sourceVersion: 2, files: [a, b] }; // m/middle.txt removed
    const baseId = manifestIdOf(encodeManifest(sortedBase));
    const delta = encodeManifestDelta(unsortedBase, baseId, next);
    const full = encodeManifest(next);
    expect(applyManifestDelta(sortedBase, baseId, delta, manifestIdOf(full)).bytes.equals(full)).toBe(true);
  });

  it('keeps a chunk that repeats inside the base', () => {
    const zero = chunk(16384);
    const b = manifest([file('z.bin', [zero, zero, zero, chunk()])]);
    const n = manifest([file('z.bin', [zero, zero, chunk(), zero, zero])], 2);
    roundTrip(b, n);
  });

  it('refuses a delta made against another base with STALE_OBJECT', () => {
    const baseId = manifestIdOf(encodeManifest(base));
    const next = { ...base, sourceVersion: 2 };
    const delta = encodeManifestDelta(base, baseId, next);
    const other = manifest([file('x', [chunk()])]);
    const otherId = manifestIdOf(encodeManifest(other));
    expect(() => applyManifestDelta(other, otherId, delta, manifestIdOf(encodeManifest(next)))).toThrow(
      expect.objectContaining({ code: 'STALE_OBJECT' }),
    );
  });

  it('turns every damaged or truncated delta into CORRUPT_DATA, never a crash or a wrong manifest', () => {
    const baseId = manifestIdOf(encodeManifest(base));
    const changed = [...big];
    changed[10] = chunk();
    const next = manifest(
      [file('sources/install.wim', changed), file('readme.txt', [...base.files[0]!.chunks])],
      2,
    );
    const nextId = manifestIdOf(encodeManifest(next));
    const delta = encodeManifestDelta(base, baseId, next);
    for (let cut = 0; cut < delta.length; cut++) {
      expect(() => applyManifestDelta(base, baseId, delta.subarray(0, cut), nextId)).toThrow(SitecastError);
    }
    const full = encodeManifest(next);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const bad = Buffer.from(delta);
      const at = 37 + (i % (bad.length - 37)); // past the magic, format and base id
      bad[at] = bad[at]! ^ (1 + (i % 255));
      try {
        // Whatever a damaged delta yields is checked against the id: only the right manifest gets through.
        expect(applyManifestDelta(base, baseId, bad, nextId).bytes.equals(full)).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(SitecastError);
        expect(['CORRUPT_DATA', 'UNSAFE_PATH', 'INVALID_PARAMETER']).toContain((e as SitecastError).code);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1990);
  });
});
