import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEFTOVER_GRACE_MS } from './durable-file.js';
import { sha256Hex } from './manifest.js';
import { PackStore } from './pack-store.js';

function chunk(size = 4096): { id: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  return { id: sha256Hex(bytes), bytes };
}

let root: string;
let packs: string;
const warnings: string[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sitecast-recovery-'));
  packs = join(root, 'packs');
  warnings.length = 0;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes two packs (000000000001 with a, 000000000002 with b) and closes the store. */
async function twoPacks(): Promise<{ a: { id: string; bytes: Buffer }; b: { id: string; bytes: Buffer } }> {
  const s = await PackStore.open(root);
  const a = chunk();
  const b = chunk();
  await s.put(a.id, a.bytes);
  await s.put(b.id, b.bytes);
  await s.close();
  expect((await readdir(packs)).sort()).toEqual([
    '000000000001.idx',
    '000000000001.pack',
    '000000000002.idx',
    '000000000002.pack',
  ]);
  return { a, b };
}

/** Makes files look written before the leftover grace period (a crash long ago). */
async function age(names: readonly string[]): Promise<void> {
  const then = new Date(Date.now() - LEFTOVER_GRACE_MS - 60_000);
  for (const n of names) await utimes(join(packs, n), then, then);
}

async function reopen(): Promise<PackStore> {
  return PackStore.open(root, { warn: (m) => warnings.push(m) });
}

describe('PackStore recovery on open', () => {
  it('removes temp files and a pack whose index was never written (crash mid-seal)', async () => {
    const { a, b } = await twoPacks();
    await writeFile(join(packs, '000000000003.pack.tmp'), randomBytes(100));
    await writeFile(join(packs, '000000000004.pack'), randomBytes(100)); // renamed, index not yet written
    await writeFile(join(packs, '000000000004.idx.tmp'), randomBytes(10));
    await age(['000000000003.pack.tmp', '000000000004.pack', '000000000004.idx.tmp']);
    const s = await reopen();
    expect([...s.loadReport.tempFilesRemoved].sort()).toEqual([
      '000000000003.pack.tmp',
      '000000000004.idx.tmp',
    ]);
    expect(s.loadReport.unindexedPacksRemoved).toEqual(['000000000004.pack']);
    expect(
      (await readdir(packs)).filter((n) => n.startsWith('000000000003') || n.startsWith('000000000004')),
    ).toEqual([]);
    expect((await s.get(a.id)).equals(a.bytes)).toBe(true);
    expect((await s.get(b.id)).equals(b.bytes)).toBe(true);
    // Sequence numbers move past the leftovers.
    const c = chunk();
    await s.put(c.id, c.bytes);
    expect(await readdir(packs)).toContain('000000000005.idx');
    await s.close();
    expect(warnings).toEqual([]);
  });

  it('leaves young temp files and unindexed packs alone: another process may be writing them', async () => {
    const { a } = await twoPacks();
    await writeFile(join(packs, '000000000003.pack.tmp'), randomBytes(100));
    await writeFile(join(packs, '000000000004.pack'), randomBytes(100));
    const s = await reopen();
    expect(s.loadReport).toMatchObject({ tempFilesRemoved: [], unindexedPacksRemoved: [], nextSeq: 5 });
    expect(await readdir(packs)).toEqual(
      expect.arrayContaining(['000000000003.pack.tmp', '000000000004.pack']),
    );
    expect((await s.get(a.id)).equals(a.bytes)).toBe(true);
    await s.close();
  });

  it('an ingest survives another store being opened on the same root meanwhile (a CLI beside the server)', async () => {
    const server = await PackStore.open(root, { writeBufferBytes: 64 * 1024 });
    const session = server.beginIngest();
    const chunks = Array.from({ length: 40 }, () => chunk(16 * 1024));
    for (const c of chunks.slice(0, 20)) await session.addChunk(c.id, c.bytes);
    // The second process opens (and closes) the library while the first has a pack half written.
    await (await PackStore.open(root)).close();
    for (const c of chunks.slice(20)) await session.addChunk(c.id, c.bytes);
    await session.flush();
    await session.end();
    await server.close();
    const s = await reopen();
    for (const c of chunks) expect((await s.get(c.id)).equals(c.bytes)).toBe(true);
    await s.close();
    expect(warnings).toEqual([]);
  });

  it('quarantines a pack whose index is truncated, with a warning naming the file', async () => {
    const { a, b } = await twoPacks();
    await truncate(join(packs, '000000000002.idx'), 30);
    const s = await reopen();
    expect(s.loadReport.quarantined.map((q) => q.file)).toEqual(['000000000002.idx']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('000000000002.idx');
    expect((await s.get(a.id)).equals(a.bytes)).toBe(true);
    await expect(s.get(b.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await readdir(join(root, 'quarantine'))).map((n) => n.replace(/\.\d+$/, '')).sort()).toEqual([
      '000000000002.idx',
      '000000000002.pack',
    ]);
    expect((await s.verify()).quarantined).toHaveLength(1);
    // The chunk can be received again.
    await s.put(b.id, b.bytes);
    expect((await s.get(b.id)).equals(b.bytes)).toBe(true);
    await s.close();
  });

  it('quarantines a pack whose index checksum fails or whose pack file is short', async () => {
    const { a, b } = await twoPacks();
    const idx = await readFile(join(packs, '000000000001.idx'));
    idx[30] = (idx[30] as number) ^ 1;
    await writeFile(join(packs, '000000000001.idx'), idx);
    await truncate(join(packs, '000000000002.pack'), 100);
    const s = await reopen();
    const reasons = s.loadReport.quarantined.map((q) => `${q.file}: ${q.reason}`);
    expect(reasons).toEqual([
      expect.stringMatching(/000000000001\.idx: .*checksum mismatch/),
      expect.stringMatching(/000000000002\.idx: .*pack is 100 bytes/),
    ]);
    expect(await s.has([a.id, b.id])).toEqual(new Set());
    expect(await readdir(packs)).toEqual([]);
    await s.close();
  });

  it('quarantines an index whose pack file is missing', async () => {
    const { a } = await twoPacks();
    await rm(join(packs, '000000000002.pack'));
    const s = await reopen();
    expect(s.loadReport.quarantined[0]?.reason).toMatch(/000000000002\.pack is missing/);
    expect((await s.get(a.id)).equals(a.bytes)).toBe(true);
    await s.close();
  });
});
