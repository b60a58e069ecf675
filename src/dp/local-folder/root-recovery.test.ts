import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentOf, loopPackage } from './activate-loop.test-helpers.js';
import { FolderDpStore } from './folder-dp-store.js';
import { FolderLayout } from './folder-layout.js';
import { IncomingChunks } from './incoming-chunks.js';
import {
  type BuiltVersion,
  buildVersion,
  chunksOf,
  digests,
  randomFile,
  treeDigests,
} from './package-builder.test-helpers.js';

const A = 'PS100001';
const chunk = 4096;

let base: string;
let root: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-dp-'));
  root = join(base, 'dp');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function install(s: FolderDpStore, built: BuiltVersion): Promise<void> {
  const pkg = built.manifest.packageId;
  await s.putChunks(pkg, chunksOf(built, await s.missingChunks(pkg, built.ids)));
  await s.activate(pkg, built.version, built.manifestId, built.manifestBytes, { seedFromExisting: true });
}

/** The internal layout after a clean open: only the presented version's tree and record are left. */
async function expectConverged(pkg: string, built: BuiltVersion): Promise<void> {
  const store = new FolderDpStore({ root });
  expect(await store.packageState(pkg)).toEqual({ version: built.version, manifestId: built.manifestId });
  expect(await treeDigests(join(root, pkg))).toEqual(digests(built.files));
  expect(await store.verify(pkg)).toMatchObject({ badChunks: [], badFiles: [] });
  expect(await readdir(join(root, '.sitecast/staging'))).toEqual([]);
  expect(await readdir(join(root, '.sitecast/tmp'))).toEqual([]);
  expect(await readdir(join(root, '.sitecast/versions', pkg))).toHaveLength(1);
  const records = (await readdir(join(root, '.sitecast/manifests'))).filter((n) => n.startsWith(pkg));
  expect(records).toEqual([`${pkg}.${built.version}.${built.manifestId}`]);
  const incoming = await readdir(join(root, '.sitecast/incoming', pkg)).catch(() => []);
  expect(incoming.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  expect([...(await store.receivedChunkIds(pkg))].filter((id) => built.chunks.has(id))).toEqual([]);
}

describe('FolderDpStore crash recovery', () => {
  const v1 = buildVersion(A, 1, [
    { path: 'sources/install.wim', bytes: randomFile(24 * chunk) },
    { path: 'readme.txt', bytes: Buffer.from('v1') },
  ]);
  const v2 = buildVersion(A, 2, [
    {
      path: 'sources/install.wim',
      bytes: Buffer.concat([v1.files.get('sources/install.wim')!, randomFile(chunk)]),
    },
    { path: 'readme.txt', bytes: Buffer.from('v2') },
  ]);
  const newIds = v2.ids.filter((id) => !v1.chunks.has(id));

  it('converges from a crash during assembly: staging, temp files and an unswitched tree are dropped', async () => {
    await install(new FolderDpStore({ root, create: true }), v1);
    await new FolderDpStore({ root }).putChunks(A, chunksOf(v2, newIds));
    const dot = join(root, '.sitecast');
    const short = v2.manifestId.slice(0, 16);
    await mkdir(join(dot, `staging/${A}.2-${short}.0000beef/sources`), { recursive: true });
    await writeFile(join(dot, `staging/${A}.2-${short}.0000beef/sources/install.wim`), 'half');
    await writeFile(join(dot, `incoming/${A}/.tmp-0badc0de`), 'half a chunk');
    await mkdir(join(dot, `versions/${A}/2-${short}.0000cafe`));
    await writeFile(join(dot, `versions/${A}/2-${short}.0000cafe/readme.txt`), 'v2');
    await writeFile(join(dot, `manifests/${A}.2.${v2.manifestId}`), v2.manifestBytes);
    await symlink(`.sitecast/versions/${A}/2-${short}.0000cafe`, join(dot, `tmp/${A}.00000001`));

    await expectConverged(A, v1);
    // The chunks received before the crash are kept: the retry sends nothing.
    const reopened = new FolderDpStore({ root });
    expect(await reopened.missingChunks(A, v2.ids)).toEqual([]);
    await reopened.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true });
    await expectConverged(A, v2);
  });

  it('converges from a crash after the switch: the old tree, record and consumed chunks are cleaned up', async () => {
    const first = new FolderDpStore({ root, create: true });
    await install(first, v1);
    const [oldDir] = await readdir(join(root, '.sitecast/versions', A));
    const saved = join(base, 'saved');
    await cp(join(root, '.sitecast/versions', A, oldDir!), saved, { recursive: true });
    const oldRecord = `${A}.1.${v1.manifestId}`;
    const oldRecordBytes = await readFile(join(root, '.sitecast/manifests', oldRecord));
    await install(first, v2);
    // Put back what the cleanup after the commit point had deleted.
    await cp(saved, join(root, '.sitecast/versions', A, oldDir!), { recursive: true });
    await writeFile(join(root, '.sitecast/manifests', oldRecord), oldRecordBytes);
    await new IncomingChunks(new FolderLayout(root)).put(A, chunksOf(v2, newIds));

    await expectConverged(A, v2);
  });

  it('unpresents a package whose manifest record is lost rather than serve an unverifiable tree', async () => {
    await install(new FolderDpStore({ root, create: true }), v1);
    await rm(join(root, '.sitecast/manifests', `${A}.1.${v1.manifestId}`));
    const reopened = new FolderDpStore({ root });
    expect(await reopened.packageState(A)).toBeNull();
    expect(await readdir(root)).toEqual(['.sitecast']);
    await install(reopened, v1);
    await expectConverged(A, v1);
  });

  it('converges after the process is killed at random moments while activating', async () => {
    await new FolderDpStore({ root, create: true }).health();
    const script = fileURLToPath(new URL('./activate-loop.test-helpers.ts', import.meta.url));
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, root], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await killAfterActivations(child, 1, Math.random() * 150);
      const state = await new FolderDpStore({ root }).packageState(loopPackage);
      expect(state).not.toBeNull();
      await expectConverged(loopPackage, contentOf(state!.version));
    }
    const store = new FolderDpStore({ root });
    const next = (await store.packageState(loopPackage))!.version + 1;
    await install(store, contentOf(next));
    await expectConverged(loopPackage, contentOf(next));
  });
});

/** Waits for `count` activations, then `delayMs` more, then SIGKILLs the child and waits for it to die. */
async function killAfterActivations(child: ChildProcess, count: number, delayMs: number): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let seen = 0;
    child.stdout?.on('data', (d: Buffer) => {
      seen += d
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('activated')).length;
      if (seen >= count) resolve();
    });
    child.once('exit', (code) => reject(new Error(`activate loop exited early (${code}): ${stderr}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  child.kill('SIGKILL');
  await exited;
}
