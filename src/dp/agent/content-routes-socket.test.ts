/**
 * The content routes over a real loopback socket: what `inject()` cannot show (raw `..` in a request
 * line, since its URL parser normalises them away; streaming with bounded memory; a version switch in
 * the middle of a download).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readlink, realpath, symlink, truncate, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile } from '../local-folder/package-builder.test-helpers.js';
import { contentFixture, parseByteranges, type ContentFixture } from './content-fixture.test-helpers.js';
import { contentRoutes } from './content-routes.js';

const PKG = 'ABC00001'; // published through FolderDpStore
const HAND = 'ABC00003'; // a hand-made tree with symlinks and a sparse file
const MiB = 1024 * 1024;
const wim = randomFile(200_000);
const readme = Buffer.from('read me');

let fx: ContentFixture;
let app: FastifyInstance;
let base: string;
let port: number;

beforeAll(async () => {
  fx = await contentFixture();
  await fx.publish(PKG, 1, [
    { path: 'boot/boot.wim', bytes: wim },
    { path: 'readme.txt', bytes: readme },
  ]);
  const tree = join(fx.dir, 'hand-tree');
  await mkdir(join(tree, 'sub'), { recursive: true });
  await writeFile(join(tree, 'real.txt'), 'inside');
  await writeFile(join(fx.dir, 'secret.txt'), 'outside the tree');
  await symlink('real.txt', join(tree, 'alias.txt'));
  await symlink(join(fx.dir, 'secret.txt'), join(tree, 'secret.txt'));
  await symlink(fx.dir, join(tree, 'escape'));
  await symlink('..', join(tree, 'sub', 'up'));
  await writeFile(join(tree, 'sparse.bin'), '');
  await truncate(join(tree, 'sparse.bin'), 64 * MiB);

  app = Fastify();
  await app.register(contentRoutes, {
    prefix: '/content',
    resolve: (id) =>
      id === HAND
        ? Promise.resolve({ treeRoot: tree, manifestId: 'e'.repeat(64), version: 7 })
        : fx.resolver.resolve(id),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await app.close();
  await fx.close();
});

/** A request line sent byte for byte as written (fetch and inject would normalise `..` and `\`). */
function rawGet(path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client that drops the connection once the download has started. */
function hangUpAfterFirstBytes(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

/** The body of a fetch response, one chunk per `next()`, so a test can stop reading half-way. */
function chunksOf(res: Response): AsyncIterator<Uint8Array, undefined> {
  if (!res.body) throw new Error('response has no body');
  return (res.body as AsyncIterable<Uint8Array, undefined>)[Symbol.asyncIterator]();
}

describe('traversal over a socket', () => {
  it.each([
    `/content/${PKG}/../../../etc/passwd`,
    `/content/${PKG}/boot/../readme.txt`,
    `/content/${PKG}/boot/%2e%2e/readme.txt`,
    `/content/${PKG}/%2E%2E/%2E%2E/etc/passwd`,
    `/content/${PKG}/.%2e/x`,
    `/content/${PKG}/boot\\..\\readme.txt`,
    `/content/${PKG}//etc/passwd`,
    `/content/${PKG}/./readme.txt`,
  ])('%s → 400 with a JSON error naming the path', async (path) => {
    const res = await rawGet(path);
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body.toString()) as { error: { details: { path: string } } };
    expect(body.error.details.path).toBe(path.slice('/content/'.length));
  });

  it('refuses `..` as the package id', async () => {
    const res = await rawGet('/content/../etc/passwd');
    expect([400, 404]).toContain(res.status);
    expect(res.body.toString()).not.toContain('root:');
  });

  it('never follows a symlink out of the tree, follows one inside it', async () => {
    for (const path of ['secret.txt', 'escape/secret.txt', 'sub/up/secret.txt', 'escape/']) {
      const res = await rawGet(`/content/${HAND}/${path}`);
      expect(res.status, path).toBe(404);
      expect(res.body.toString()).not.toContain('outside the tree');
    }
    expect((await rawGet(`/content/${HAND}/alias.txt`)).body.toString()).toBe('inside');
    const listing = await fetch(`${base}/content/${HAND}/`, { headers: { accept: 'application/json' } });
    const names = ((await listing.json()) as { entries: { name: string }[] }).entries.map((e) => e.name);
    expect(names).toEqual(['sub', 'alias.txt', 'real.txt', 'sparse.bin']);
  });
});

describe('streaming over a socket', () => {
  it('answers a multi-range request to fetch as well-formed multipart/byteranges', async () => {
    const res = await fetch(`${base}/content/${PKG}/boot/boot.wim`, {
      headers: { range: 'bytes=0-99,1000-1999,-10' },
    });
    expect(res.status).toBe(206);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-length')).toBe(String(body.length));
    const parts = parseByteranges(res.headers.get('content-type') ?? '', body);
    const size = wim.length;
    expect(parts.map((p) => p.contentRange)).toEqual([
      `bytes 0-99/${size}`,
      `bytes 1000-1999/${size}`,
      `bytes ${size - 10}-${size - 1}/${size}`,
    ]);
    expect(
      Buffer.concat(parts.map((p) => p.bytes)).equals(
        Buffer.concat([wim.subarray(0, 100), wim.subarray(1000, 2000), wim.subarray(size - 10)]),
      ),
    ).toBe(true);
  });

  it('streams a 64 MiB file with memory that does not grow with it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    const res = await fetch(`${base}/content/${HAND}/sparse.bin`);
    expect(res.headers.get('content-length')).toBe(String(64 * MiB));
    const reader = chunksOf(res);
    let received = 0;
    let nextCheck = 8 * MiB;
    let peak = 0;
    let allZero = true;
    for (;;) {
      const { done, value } = await reader.next();
      if (done) break;
      received += value.byteLength;
      if (allZero && value.some((b) => b !== 0)) allZero = false;
      if (received >= nextCheck) {
        // Whatever is still reachable now is what the server and client hold: a buffered file would be 64 MiB.
        gc();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        nextCheck += 8 * MiB;
      }
    }
    expect(received).toBe(64 * MiB);
    expect(allZero).toBe(true);
    // Sockets and fetch's queue hold up to ~25 MiB at times; a file read into memory would hold all 64.
    expect(peak).toBeLessThan(40 * MiB);
  });

  it('finishes a download from the version it started on when the package switches mid-way', async () => {
    const PKG2 = 'ABC00002';
    const one = randomFile(32 * MiB);
    const two = randomFile(32 * MiB);
    await fx.publish(PKG2, 1, [{ path: 'big.bin', bytes: one }]);
    const oldTree = await realpath(join(fx.store.root, PKG2));
    const res = await fetch(`${base}/content/${PKG2}/big.bin`);
    const etag = res.headers.get('etag');
    const reader = chunksOf(res);
    const chunks: Uint8Array[] = [];
    const first = await reader.next();
    if (!first.done) chunks.push(first.value);
    await fx.publish(PKG2, 2, [{ path: 'big.bin', bytes: two }]);
    expect(existsSync(oldTree)).toBe(false); // the rest can only come from the open file
    for (;;) {
      const { done, value } = await reader.next();
      if (done) break;
      chunks.push(value);
    }
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(one.length);
    expect(got.equals(one)).toBe(true);
    const after = await fetch(`${base}/content/${PKG2}/big.bin`, { headers: { range: 'bytes=0-15' } });
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(Buffer.from(await after.arrayBuffer()).equals(two.subarray(0, 16))).toBe(true);
  });

  it('closes every file it opens: answered, conditional, refused and abandoned downloads', async () => {
    const url = `${base}/content/${PKG}/boot/boot.wim`;
    /** Descriptors open on the DP's files (sockets and pools of fetch come and go; these must not). */
    const openFds = async () => {
      const targets = await Promise.all(
        (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
      );
      return targets.filter((t) => t.startsWith(fx.dir));
    };
    await (await fetch(url)).arrayBuffer(); // warm up sockets and pools
    const before = await openFds();
    const { etag } = Object.fromEntries((await fetch(url, { method: 'HEAD' })).headers);
    for (let i = 0; i < 5; i++) {
      const answers = await Promise.all([
        fetch(url, { method: 'HEAD' }),
        fetch(url, { headers: { 'if-none-match': String(etag) } }),
        fetch(url, { headers: { range: 'bytes=999999-' } }),
        fetch(url, { headers: { range: 'bytes=0-1,5-9' } }),
        fetch(url, { headers: { range: 'bytes=0-1' } }),
      ]);
      await Promise.all(answers.map((a) => a.arrayBuffer()));
      await hangUpAfterFirstBytes(`/content/${HAND}/sparse.bin`);
    }
    await sleep(200); // aborted responses close their streams asynchronously
    expect(await openFds()).toEqual(before);
  });
});
