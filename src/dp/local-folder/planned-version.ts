/**
 * A version whose manifest reached the DP before its chunks (`FolderDpStore.prepare`): every verified chunk
 * is written straight to its places in a staging tree instead of into a batch file that activation would
 * read back, hash again and copy. So a pushed or pulled byte is hashed once (on arrival, in memory, before
 * it is written) and written once; activation only fills the places of chunks that were not sent (the DP
 * had them in a current tree or in a batch file; those are re-hashed as they are copied), fsyncs, and
 * renames the tree into place.
 *
 * On disk, `.sitecast/planned/<PackageID>/`: `<version>.<manifestId>.manifest` (the canonical bytes,
 * written durably first) and `tree/` (the files, holes where nothing landed yet). Which chunks landed is
 * kept in memory; after a restart it is found again by re-hashing every chunk's places in the tree (a hole
 * or a torn write does not match), so a kill costs a re-read, never a re-send of what had landed, and a
 * byte that was not verified is never used.
 */
import { chmod, open, readFile, rename, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AlignedBufferPool,
  DIRECT_ALIGN,
  decodeManifest,
  isDirectRefusal,
  openDirect,
  sha256Hex,
} from '../../content/index.js';
import type { ChunkId, Manifest } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';
import type { DpChunk } from '../dp-adapter.js';
import {
  errnoOf,
  fsyncDir,
  listNames,
  mkdirOne,
  readRange,
  removeTree,
  writeFileAtomic,
} from './durable-fs.js';
import { type FolderLayout, TEMP_PREFIX, randomHex8 } from './folder-layout.js';
import type { IncomingChunks } from './incoming-chunks.js';
import {
  ChunkSource,
  directoriesOf,
  pathInside,
  throwIfCancelled,
  type SeedRange,
} from './tree-assembler.js';

const manifestName = /^(\d{1,15})\.([0-9a-f]{64})\.manifest$/;

/** The version and manifest id of the plan record `name` (a file in a package's plan folder), or null. */
export function parsePlanRecordName(name: string): { version: number; manifestId: string } | null {
  const m = manifestName.exec(name);
  return m ? { version: Number(m[1]), manifestId: m[2]! } : null;
}
/** Files of a plan kept open for writing at once (a tree may have thousands). */
const maxOpenFiles = 32;
/** iovecs per writev(2) (IOV_MAX is 1024 on Linux). */
const maxIov = 1024;
/** Bytes read at once when the places of a plan are re-hashed after a restart. */
const rescanWindow = 8 * 1024 * 1024;
/** Bytes of chunks copied in a row at activation that are written at once. */
const fillRunBytes = 8 * 1024 * 1024;
/** Page-aligned staging for direct writes (see `writeRun`). */
const staging = new AlignedBufferPool(8 * 1024 * 1024, 2);

/** A plan file open for writing: buffered, and with O_DIRECT where the file system allows. */
interface PlanFile {
  readonly buffered: FileHandle;
  direct: FileHandle | null;
}

interface Place {
  readonly file: number;
  readonly offset: number;
}

export interface Plan {
  readonly packageId: string;
  readonly version: number;
  readonly manifestId: string;
  readonly manifest: Manifest;
  readonly tree: string;
  /** Absolute path of each manifest file, by index. */
  readonly paths: readonly string[];
  readonly places: ReadonlyMap<ChunkId, readonly Place[]>;
  readonly sizes: ReadonlyMap<ChunkId, number>;
  /** Chunks written (verified first) to every one of their places. */
  readonly placed: Set<ChunkId>;
  placedBytes: number;
}

interface LoadedPlan extends Plan {
  readonly handles: Map<number, PlanFile>;
}

export interface FillInput {
  readonly incoming: IncomingChunks;
  readonly seeds: ((id: ChunkId) => readonly SeedRange[]) | null;
  readonly signal?: AbortSignal | undefined;
}

export class PlannedVersions {
  /** Per package, the plan once it is (being) loaded; null: none on disk. */
  private readonly plans = new Map<string, Promise<LoadedPlan | null>>();

  constructor(private readonly layout: FolderLayout) {}

  /** Forgets every loaded plan (the root may have come back with other content); the files stay. */
  async reset(): Promise<void> {
    const loaded = [...this.plans.values()];
    this.plans.clear();
    for (const p of loaded) await closeAll(await p.catch(() => null));
  }

  /** Packages with a plan on disk. */
  async packageIds(): Promise<string[]> {
    return (await listNames(this.layout.planned)).filter((n) => !n.startsWith(TEMP_PREFIX));
  }

  /** The package's plan, or null. */
  async get(packageId: string): Promise<Plan | null> {
    return this.load(packageId);
  }

  /**
   * Makes `manifest` the package's plan. A plan for it already there is kept with what landed; a plan for
   * another manifest is replaced, its landed chunks that the new one needs copied over (re-hashed).
   */
  async prepare(manifestId: string, manifestBytes: Buffer, manifest: Manifest): Promise<void> {
    const { packageId } = manifest;
    const old = await this.load(packageId);
    if (old?.manifestId === manifestId) return;
    const dir = this.layout.packagePlanned(packageId);
    let moved: string | null = null;
    if (old) {
      await closeAll(old);
      moved = join(this.layout.tmp, `${TEMP_PREFIX}plan-${packageId}-${randomHex8()}`);
      await rename(dir, moved);
    } else {
      await removeTree(dir); // a plan that would not load
    }
    const creating = create(dir, manifestId, manifestBytes, manifest);
    this.plans.set(packageId, creating);
    try {
      const plan = await creating;
      if (old && moved) await this.carryOver(old, join(moved, 'tree'), plan);
    } catch (e) {
      this.plans.delete(packageId);
      await removeTree(dir).catch(() => undefined);
      throw e;
    } finally {
      if (moved) await removeTree(moved).catch(() => undefined);
    }
  }

  /**
   * Writes each verified chunk the package's plan names to all its places (contiguous places in one
   * writev). Returns the chunks the plan does not name (all of them without a plan), for the caller to
   * keep elsewhere; chunks already placed are skipped.
   */
  async place(packageId: string, chunks: readonly DpChunk[]): Promise<DpChunk[]> {
    const plan = await this.load(packageId);
    if (!plan) return [...chunks];
    const rest: DpChunk[] = [];
    const writes: { file: number; offset: number; bytes: Buffer }[] = [];
    const fresh = new Map<ChunkId, number>();
    for (const c of chunks) {
      const places = plan.places.get(c.id);
      if (!places || plan.sizes.get(c.id) !== c.bytes.length) {
        rest.push(c);
        continue;
      }
      if (plan.placed.has(c.id) || fresh.has(c.id)) continue;
      fresh.set(c.id, c.bytes.length);
      for (const p of places) writes.push({ file: p.file, offset: p.offset, bytes: c.bytes });
    }
    writes.sort((a, b) => a.file - b.file || a.offset - b.offset);
    for (let i = 0; i < writes.length;) {
      const first = writes[i]!;
      const run = [first.bytes];
      let end = first.offset + first.bytes.length;
      let j = i + 1;
      for (; j < writes.length && run.length < maxIov; j++) {
        const w = writes[j]!;
        if (w.file !== first.file || w.offset !== end) break;
        run.push(w.bytes);
        end += w.bytes.length;
      }
      await writeRun(await this.handle(plan, first.file), run, first.offset);
      i = j;
    }
    for (const [id, size] of fresh) {
      plan.placed.add(id);
      plan.placedBytes += size;
    }
    return rest;
  }

  /**
   * Completes the plan's tree for activation: the places of chunks not sent are filled from `input`
   * (re-hashed), then every file is fsync'd with its mode and mtime set, and the directories. Returns the
   * chunks no source had (the tree is then incomplete and stays a plan).
   */
  async fill(plan: Plan, input: FillInput): Promise<{ missing: ChunkId[] }> {
    const loaded = plan as LoadedPlan;
    const source = new ChunkSource(input.incoming, plan.packageId, input.seeds);
    const missing = new Set<ChunkId>();
    // Chunks copied in a row (a delta's unchanged stretches) are gathered and written as one run: a write
    // per ~64 KiB chunk would cost a refresh with few changes more than the old sequential assembly.
    const run = { file: -1, offset: 0, length: 0, bytes: Buffer.allocUnsafe(fillRunBytes) };
    const flush = async (): Promise<void> => {
      if (run.length > 0 && missing.size === 0)
        await writeRun(await this.handle(loaded, run.file), [run.bytes.subarray(0, run.length)], run.offset);
      run.length = 0;
    };
    try {
      for (const [i, file] of plan.manifest.files.entries()) {
        let offset = 0;
        for (const chunk of file.chunks) {
          throwIfCancelled(input.signal, `assembling ${plan.packageId}`);
          if (!plan.placed.has(chunk.id)) {
            // The source's bytes are a view of its read window: copied into the run before the next get.
            const bytes = await source.get(chunk.id, chunk.size);
            if (!bytes) missing.add(chunk.id);
            else if (missing.size === 0) {
              const contiguous = run.file === i && run.offset + run.length === offset;
              if (!contiguous || run.length + bytes.length > run.bytes.length) await flush();
              if (run.length === 0) [run.file, run.offset] = [i, offset];
              if (bytes.length > run.bytes.length)
                await writeRun(await this.handle(loaded, i), [bytes], offset);
              else run.length += bytes.copy(run.bytes, run.length);
            }
          }
          offset += chunk.size;
        }
      }
      await flush();
    } finally {
      await source.close();
    }
    if (missing.size > 0) return { missing: [...missing] };
    await closeAll(loaded);
    for (const [i, file] of plan.manifest.files.entries()) {
      const path = plan.paths[i]!;
      const handle = await open(path, 'r+');
      try {
        // Filled, a file is its chunks end to end; any other size is a write from outside: not trusted.
        const size = (await handle.stat()).size;
        if (size !== file.size) {
          throw new SitecastError(
            'CORRUPT_DATA',
            `${path} holds ${size} bytes once filled, not the manifest's ${file.size}`,
            { path },
          );
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(path, file.mode & 0o777);
      const mtime = new Date(file.mtime);
      await utimes(path, mtime, mtime);
    }
    for (const dir of directoriesOf(plan.manifest)) await fsyncDir(pathInside(plan.tree, dir));
    await fsyncDir(plan.tree);
    return { missing: [] };
  }

  /**
   * Moves the plan's filled tree to `target` (activation's build step). The plan stays known (progress
   * reads see what landed) until the caller discards it: after the switch, or on failure.
   */
  async moveTree(plan: Plan, target: string): Promise<void> {
    await closeAll(plan as LoadedPlan);
    await rename(plan.tree, target);
  }

  /** Where the landed chunk `id` sits in the plan's tree (empty when it has not landed). */
  rangesOf(plan: Plan, id: ChunkId): SeedRange[] {
    const places = plan.placed.has(id) ? (plan.places.get(id) ?? []) : [];
    const size = plan.sizes.get(id) ?? 0;
    return places.map((p) => ({ file: plan.paths[p.file]!, offset: p.offset, size }));
  }

  /** Deletes the package's plan and what landed in it. */
  async discard(packageId: string): Promise<void> {
    const loading = this.plans.get(packageId);
    this.plans.delete(packageId);
    await closeAll((await loading?.catch(() => null)) ?? null);
    await removeTree(this.layout.packagePlanned(packageId));
  }

  /**
   * A reader of verified copies of landed chunks, from any package's plan (null: none has it); the plans
   * are listed once, on first need.
   */
  reader(): (id: ChunkId) => Promise<Buffer | null> {
    let packages: string[] | undefined;
    return async (id) => {
      for (const packageId of (packages ??= await this.packageIds())) {
        const plan = await this.load(packageId).catch(() => null);
        const place = plan?.placed.has(id) ? plan.places.get(id)?.[0] : undefined;
        if (!plan || !place) continue;
        const bytes = await readRange(plan.paths[place.file]!, place.offset, plan.sizes.get(id)!);
        if (bytes && sha256Hex(bytes) === id) return bytes;
      }
      return null;
    };
  }

  private async carryOver(old: Plan, oldTree: string, plan: LoadedPlan): Promise<void> {
    const chunks: DpChunk[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      await this.place(plan.packageId, chunks);
      chunks.length = 0;
      bytes = 0;
    };
    for (const id of old.placed) {
      const place = old.places.get(id)?.[0];
      if (!place || !plan.places.has(id)) continue;
      const path = join(oldTree, old.manifest.files[place.file]!.path);
      const got = await readRange(path, place.offset, old.sizes.get(id)!);
      if (!got || sha256Hex(got) !== id) continue;
      chunks.push({ id, bytes: got });
      bytes += got.length;
      if (bytes >= rescanWindow) await flush();
    }
    await flush();
  }

  private load(packageId: string): Promise<LoadedPlan | null> {
    let loading = this.plans.get(packageId);
    if (!loading) {
      loading = loadPlan(this.layout.packagePlanned(packageId), packageId);
      this.plans.set(packageId, loading);
      loading.catch(() => this.plans.delete(packageId));
    }
    return loading;
  }

  private async handle(plan: LoadedPlan, file: number): Promise<PlanFile> {
    const open_ = plan.handles.get(file);
    if (open_) {
      // Most recently used last.
      plan.handles.delete(file);
      plan.handles.set(file, open_);
      return open_;
    }
    if (plan.handles.size >= maxOpenFiles) {
      const [oldest, handle] = plan.handles.entries().next().value as [number, PlanFile];
      plan.handles.delete(oldest);
      await closeFile(handle);
    }
    const path = plan.paths[file]!;
    const buffered = await open(path, 'r+');
    const handle = { buffered, direct: await openDirect(path) };
    plan.handles.set(file, handle);
    return handle;
  }
}

function planOf(dir: string, manifestId: string, manifest: Manifest): LoadedPlan {
  const tree = join(dir, 'tree');
  const places = new Map<ChunkId, Place[]>();
  const sizes = new Map<ChunkId, number>();
  manifest.files.forEach((f, file) => {
    let offset = 0;
    for (const c of f.chunks) {
      let list = places.get(c.id);
      if (!list) places.set(c.id, (list = []));
      list.push({ file, offset });
      sizes.set(c.id, c.size);
      offset += c.size;
    }
  });
  return {
    packageId: manifest.packageId,
    version: manifest.sourceVersion,
    manifestId,
    manifest,
    tree,
    paths: manifest.files.map((f) => pathInside(tree, f.path)),
    places,
    sizes,
    placed: new Set(),
    placedBytes: 0,
    handles: new Map(),
  };
}

/** Writes the manifest record, then the empty tree: directories and every file (holes until chunks land). */
async function create(
  dir: string,
  manifestId: string,
  manifestBytes: Buffer,
  manifest: Manifest,
): Promise<LoadedPlan> {
  await mkdirOne(dir);
  await writeFileAtomic(join(dir, `${manifest.sourceVersion}.${manifestId}.manifest`), manifestBytes, {
    durable: true,
  });
  const plan = planOf(dir, manifestId, manifest);
  await makeTree(plan);
  return plan;
}

async function makeTree(plan: Plan): Promise<void> {
  await mkdirOne(plan.tree);
  for (const d of directoriesOf(plan.manifest)) await mkdirOne(pathInside(plan.tree, d));
  for (const path of plan.paths) await (await open(path, 'a', 0o600)).close();
}

/**
 * The plan in `dir`, or null when there is none or it cannot be used (then it is deleted). What landed is
 * found by re-hashing every chunk's places.
 */
async function loadPlan(dir: string, packageId: string): Promise<LoadedPlan | null> {
  const names = await listNames(dir).catch((e: unknown) => {
    if (errnoOf(e) === 'ENOENT') return null;
    throw e;
  });
  if (names === null) return null;
  const found = names.map((n) => manifestName.exec(n)).find((m) => m !== null);
  let plan: LoadedPlan | null = null;
  if (found) {
    try {
      const manifest = decodeManifest(await readFile(join(dir, found[0])), found[2]);
      if (manifest.packageId === packageId && manifest.sourceVersion === Number(found[1]))
        plan = planOf(dir, found[2]!, manifest);
    } catch {
      // A record that does not hash to its name cannot describe the tree.
    }
  }
  if (!plan) {
    await removeTree(dir);
    return null;
  }
  await makeTree(plan);
  await rescan(plan);
  return plan;
}

/** Marks placed each chunk whose every place in the tree holds its bytes. */
async function rescan(plan: LoadedPlan): Promise<void> {
  const matched = new Map<ChunkId, number>();
  let window = Buffer.allocUnsafe(rescanWindow);
  for (const [i, file] of plan.manifest.files.entries()) {
    if (file.chunks.length === 0) continue;
    const handle = await open(plan.paths[i]!, 'r');
    try {
      let start = 0;
      let filled = 0;
      let offset = 0;
      for (const c of file.chunks) {
        if (offset + c.size > start + filled) {
          start = offset;
          if (c.size > window.length) window = Buffer.allocUnsafe(c.size);
          filled = (await handle.read(window, 0, window.length, start)).bytesRead;
        }
        const from = offset - start;
        if (from + c.size <= filled && sha256Hex(window.subarray(from, from + c.size)) === c.id)
          matched.set(c.id, (matched.get(c.id) ?? 0) + 1);
        offset += c.size;
      }
    } finally {
      await handle.close();
    }
  }
  for (const [id, count] of matched) {
    if (count !== plan.places.get(id)!.length) continue;
    plan.placed.add(id);
    plan.placedBytes += plan.sizes.get(id)!;
  }
}

/**
 * Writes `buffers` end to end at `position`. The page-aligned middle of the range goes through O_DIRECT,
 * copied into an aligned staging buffer: a buffered write's copy into the page cache (and its writeback)
 * cost the agents a third of the machine while receiving 8 × 1 GiB, a memcpy and a direct write almost
 * nothing. The unaligned ends (at most a page each) are written buffered; the kernel keeps the two kinds
 * of write coherent. Where O_DIRECT is refused, everything is written buffered.
 */
async function writeRun(file: PlanFile, buffers: readonly Buffer[], position: number): Promise<void> {
  const end = position + buffers.reduce((n, b) => n + b.length, 0);
  const from = Math.ceil(position / DIRECT_ALIGN) * DIRECT_ALIGN;
  const to = Math.floor(end / DIRECT_ALIGN) * DIRECT_ALIGN;
  if (!file.direct || to <= from) return writeAll(file.buffered, [...buffers], position);
  if (from > position) await writeAll(file.buffered, slice(buffers, 0, from - position), position);
  const buffer = staging.take();
  try {
    for (let at = from; at < to;) {
      const n = Math.min(buffer.length, to - at);
      let filled = 0;
      for (const part of slice(buffers, at - position, at - position + n)) {
        buffer.set(part, filled);
        filled += part.length;
      }
      try {
        const { bytesWritten } = await file.direct.write(buffer, 0, n, at);
        // Short (a full disk): the rest goes buffered, which writes it or names the error (ENOSPC).
        if (bytesWritten !== n) {
          const rest = at + bytesWritten - position;
          return writeAll(file.buffered, slice(buffers, rest, end - position), position + rest);
        }
      } catch (e) {
        if (!isDirectRefusal(e)) throw e;
        await file.direct.close().catch(() => undefined);
        file.direct = null;
        return writeAll(file.buffered, slice(buffers, at - position, end - position), at);
      }
      at += n;
    }
  } finally {
    staging.give(buffer);
  }
  if (end > to) await writeAll(file.buffered, slice(buffers, to - position, end - position), to);
}

/** Views of bytes [start, end) of `buffers` taken end to end. */
function slice(buffers: readonly Buffer[], start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const b of buffers) {
    const bEnd = at + b.length;
    if (bEnd > start && at < end) out.push(b.subarray(Math.max(0, start - at), Math.min(b.length, end - at)));
    at = bEnd;
    if (at >= end) break;
  }
  return out;
}

async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let at = position;
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

async function closeAll(plan: LoadedPlan | null): Promise<void> {
  if (!plan) return;
  const handles = [...plan.handles.values()];
  plan.handles.clear();
  for (const h of handles) await closeFile(h);
}

async function closeFile(file: PlanFile): Promise<void> {
  await file.buffered.close().catch(() => undefined);
  await file.direct?.close().catch(() => undefined);
}
