import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSitecastError, type ErrorCode, type SitecastError } from '../kernel/index.js';
import { ChunkerPool } from './chunker-pool.js';
import { useTempDirs } from './chunking.test-helpers.js';
import { MemorySink } from './memory-sink.test-helpers.js';
import { snapshotSource } from './snapshot.js';
import { walkSource } from './source-walk.js';

const tempDir = useTempDirs();
const pool = new ChunkerPool({ threads: 1 });
afterAll(() => pool.close());

async function snapshotError(source: string): Promise<{ error: SitecastError; sink: MemorySink }> {
  const sink = new MemorySink();
  try {
    await snapshotSource(source, sink, { packageId: 'PS100001', sourceVersion: 1, pool });
  } catch (e) {
    if (!isSitecastError(e)) throw e;
    return { error: e, sink };
  }
  throw new Error(`snapshot of ${source} succeeded`);
}

async function expectRejected(source: string, code: ErrorCode, named: string): Promise<SitecastError> {
  const { error, sink } = await snapshotError(source);
  expect(error.code, error.message).toBe(code);
  expect(error.message).toContain(named);
  // Nothing was ingested and nothing was flushed: the failure happened before any byte was read.
  expect(sink.addCalls).toBe(0);
  expect(sink.flushes).toBe(0);
  return error;
}

/**
 * Snapshots each source in a child process that has dropped CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, and
 * returns each outcome. The snapshot code and the chunk worker are bundled into `dir` first.
 */
async function snapshotsWithoutDacCapabilities(
  dir: string,
  sources: readonly string[],
): Promise<{ code: string; message?: string }[]> {
  const entry = join(dir, 'snapshotter.ts');
  writeFileSync(
    entry,
    `import { ChunkerPool } from ${JSON.stringify(join(import.meta.dirname, 'chunker-pool.ts'))};\n` +
      `import { snapshotSource } from ${JSON.stringify(join(import.meta.dirname, 'snapshot.ts'))};\n` +
      // Ref'd: should a snapshot never settle, the child says so instead of exiting with code 13.
      "const watchdog = setTimeout(() => { console.log('HUNG'); process.exit(3); }, 20_000);\n" +
      'const pool = new ChunkerPool({ threads: 1 });\n' +
      'const sink = { hasChunk: () => false, addChunk: async () => {}, flush: async () => {}, end: async () => {} };\n' +
      'for (const source of process.argv.slice(2)) {\n' +
      "  let r = { code: 'OK' };\n" +
      "  try { await snapshotSource(source, sink, { packageId: 'PS100001', sourceVersion: 1, pool }); }\n" +
      '  catch (e) { r = { code: e.code, message: e.message }; }\n' +
      '  console.log(JSON.stringify(r));\n' +
      '}\n' +
      'await pool.close();\n' +
      'clearTimeout(watchdog);\n',
  );
  const { build } = await import('esbuild');
  await build({
    entryPoints: { snapshotter: entry, 'chunk-worker': join(import.meta.dirname, 'chunk-worker.ts') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: dir,
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const f of ['snapshotter.js', 'chunk-worker.js']) chmodSync(join(dir, f), 0o644);
  const dropped = '-dac_override,-dac_read_search';
  const child = spawnSync(
    'setpriv',
    [
      `--inh-caps=${dropped}`,
      `--bounding-set=${dropped}`,
      process.execPath,
      join(dir, 'snapshotter.js'),
      ...sources,
    ],
    { cwd: dir, encoding: 'utf8', timeout: 60_000 },
  );
  expect(child.status, `stdout: ${child.stdout}\nstderr: ${child.stderr}`).toBe(0);
  return child.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { code: string; message?: string });
}

function sourceWith(name: string): string {
  const root = tempDir();
  mkdirSync(join(root, 'ok'));
  writeFileSync(join(root, 'ok', 'fine.txt'), 'fine');
  writeFileSync(join(root, 'ok', name), 'x');
  return root;
}

describe('source walking', () => {
  it('rejects an empty or relative PkgSourcePath with INVALID_PARAMETER', async () => {
    for (const bad of ['', '   ', 'relative/source', './src']) {
      const { error } = await snapshotError(bad);
      expect(error.code).toBe('INVALID_PARAMETER');
      expect(error.details.field).toBe('PkgSourcePath');
    }
  });

  it('reports a missing source with SOURCE_NOT_FOUND naming it', async () => {
    const missing = join(tempDir(), 'no', 'such', 'folder');
    const e = await expectRejected(missing, 'SOURCE_NOT_FOUND', missing);
    expect(e.details.path).toBe(missing);
  });

  it.each([
    ['back\\slash.txt', 'back\\\\slash.txt'],
    ['colon:name.txt', 'colon:name.txt'],
    ['star*.txt', 'star*.txt'],
    ['control\u0007char', 'control\\u0007char'],
    ['trailing-dot.', 'trailing-dot.'],
    ['trailing-space ', 'trailing-space '],
    ['CON.txt', 'CON.txt'],
    ['nul', 'nul'],
  ])('rejects the name %j with UNSAFE_PATH naming it', async (name, shown) => {
    const root = sourceWith(name);
    const e = await expectRejected(root, 'UNSAFE_PATH', shown);
    expect(e.details.path).toBe(`ok/${name}`);
  });

  it('rejects names that differ only in case', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'Docs'));
    writeFileSync(join(root, 'Docs', 'Readme.TXT'), 'a');
    writeFileSync(join(root, 'Docs', 'readme.txt'), 'b');
    await expectRejected(root, 'UNSAFE_PATH', 'readme.txt');

    const dirVsFile = tempDir();
    mkdirSync(join(dirVsFile, 'Tools'));
    writeFileSync(join(dirVsFile, 'Tools', 'x'), 'a');
    writeFileSync(join(dirVsFile, 'tools'), 'b');
    await expectRejected(dirVsFile, 'UNSAFE_PATH', 'tools');
  });

  it('rejects a name that is not valid UTF-8', async () => {
    const root = tempDir();
    writeFileSync(
      Buffer.concat([Buffer.from(join(root, 'bad-')), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]),
      'x',
    );
    await expectRejected(root, 'UNSAFE_PATH', 'bad-??.txt');
  });

  it('rejects symbolic links leaving the source, dangling or looping, naming the link', async () => {
    const outside = tempDir();
    writeFileSync(join(outside, 'secret'), 'secret');
    const root = tempDir();
    symlinkSync(join(outside, 'secret'), join(root, 'escape'));
    await expectRejected(root, 'UNSAFE_PATH', '"escape"');

    const relEscape = tempDir();
    mkdirSync(join(relEscape, 'd'));
    symlinkSync('../../', join(relEscape, 'd', 'up'));
    await expectRejected(relEscape, 'UNSAFE_PATH', 'd/up');

    const dangling = tempDir();
    symlinkSync(join(dangling, 'gone'), join(dangling, 'link'));
    await expectRejected(dangling, 'UNSAFE_PATH', '"link"');

    const loop = tempDir();
    mkdirSync(join(loop, 'a', 'b'), { recursive: true });
    symlinkSync('..', join(loop, 'a', 'b', 'back'));
    await expectRejected(loop, 'UNSAFE_PATH', 'a/b/back');
  });

  it('rejects FIFOs and sockets with a clear error', async () => {
    const root = tempDir();
    const made = spawnSync('mkfifo', [join(root, 'pipe')]);
    expect(made.status).toBe(0);
    const e = await expectRejected(root, 'UNSAFE_PATH', '"pipe"');
    expect(e.message).toMatch(/FIFO/);

    const withSocket = tempDir();
    const server = createServer();
    await new Promise<void>((r) => server.listen(join(withSocket, 'sock'), r));
    try {
      const e2 = await expectRejected(withSocket, 'UNSAFE_PATH', '"sock"');
      expect(e2.message).toMatch(/socket/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('reports unreadable folders and files with SOURCE_ACCESS_DENIED naming them', async () => {
    const root = tempDir();
    chmodSync(root, 0o755);
    const lockedDir = join(root, 'dir-source');
    mkdirSync(join(lockedDir, 'locked'), { recursive: true });
    writeFileSync(join(lockedDir, 'a.txt'), 'a');
    chmodSync(join(lockedDir, 'locked'), 0o000);
    const lockedFile = join(root, 'file-source');
    mkdirSync(lockedFile);
    writeFileSync(join(lockedFile, 'unreadable.bin'), 'secret');
    chmodSync(join(lockedFile, 'unreadable.bin'), 0o000);
    const lockedRoot = join(root, 'root-source');
    mkdirSync(lockedRoot, { mode: 0o000 });

    const cases: [string, string][] = [
      [lockedDir, join(lockedDir, 'locked')],
      [lockedFile, join(lockedFile, 'unreadable.bin')],
      [lockedRoot, lockedRoot],
    ];
    if (process.getuid?.() === 0) {
      // root reads everything: run the snapshots in a child process without the capabilities that let root
      // bypass file permissions. The child runs a plain-JS bundle in the temp folder, so it needs neither
      // the checkout (which may be readable by its owner alone) nor tsx's loader.
      const results = await snapshotsWithoutDacCapabilities(
        root,
        cases.map((c) => c[0]),
      );
      for (const [i, [, named]] of cases.entries()) {
        expect(results[i]?.code, JSON.stringify(results)).toBe('SOURCE_ACCESS_DENIED');
        expect(results[i]!.message).toContain(named);
      }
    } else {
      for (const [source, named] of cases) await expectRejected(source, 'SOURCE_ACCESS_DENIED', named);
    }
  });

  it('follows links inside the source: a file link is a file, a folder link is walked', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'real', 'inner'), { recursive: true });
    writeFileSync(join(root, 'real', 'inner', 'f.txt'), 'f');
    mkdirSync(join(root, 'empty'));
    mkdirSync(join(root, 'only-dirs', 'leaf'), { recursive: true });
    symlinkSync(join(root, 'real', 'inner', 'f.txt'), join(root, 'file-link'));
    symlinkSync('real', join(root, 'dir-link'));
    const tree = await walkSource(root);
    expect(tree.kind).toBe('folder');
    expect(tree.files.map((f) => f.path)).toEqual(['dir-link/inner/f.txt', 'file-link', 'real/inner/f.txt']);
    expect(tree.directories).toEqual(['empty', 'only-dirs/leaf']);
  });

  it('lists a single-file source as one file named by its base name', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'install.wim'), 'MSWIM');
    const tree = await walkSource(join(root, 'install.wim'));
    expect(tree).toMatchObject({ kind: 'file', files: [{ path: 'install.wim', size: 5 }], directories: [] });
    writeFileSync(join(root, 'bad:name.wim'), 'x');
    await expectRejected(join(root, 'bad:name.wim'), 'UNSAFE_PATH', 'bad:name.wim');
  });
});
