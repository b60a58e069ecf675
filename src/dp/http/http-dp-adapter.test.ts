/**
 * The DpAdapter contract run twice: on a local folder and on a real DP agent over a loopback socket, so a
 * remote DP behaves (bytes, states, errors and their details) exactly as a local one. Then what only the
 * HTTP adapter can meet: a wrong secret, an agent that is down or hangs, a cancelled call.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SitecastError } from '../../kernel/index.js';
import { createDpAgent, type DpAgent } from '../agent/index.js';
import type { DpAdapter } from '../dp-adapter.js';
import { createLocalFolderDp } from '../local-folder/index.js';
import {
  flipByte,
  buildVersion,
  chunksOf,
  digests,
  randomFile,
  treeDigests,
  type BuiltVersion,
} from '../local-folder/package-builder.test-helpers.js';
import { chunkFramesDigest } from './chunk-batch.js';
import { HttpDpAdapter } from './http-dp-adapter.js';

const SECRET = 'adapter-test-secret-0123456789abcdef';
const A = 'PS100001';
const B = 'PS100002';
const chunk = 4096;
const wim = randomFile(40 * chunk);
const v1 = buildVersion(A, 1, [
  { path: 'sources/install.wim', bytes: wim },
  { path: 'boot/bootmgr.exe', bytes: randomFile(3 * chunk + 17), mode: 0o755 },
  { path: 'readme.txt', bytes: Buffer.from('hello DP\n') },
]);
const v2wim = Buffer.from(wim);
for (const i of [3, 17]) v2wim.fill(i + 1, i * chunk, i * chunk + 10);
const v2 = buildVersion(A, 2, [
  { path: 'sources/install.wim', bytes: v2wim },
  { path: 'boot/bootmgr.exe', bytes: v1.files.get('boot/bootmgr.exe')!, mode: 0o755 },
]);
const changedIds = v2.ids.filter((id) => !v1.chunks.has(id));

let base: string;
let root: string;
let agent: DpAgent | undefined;
let url: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-http-dp-'));
  root = join(base, 'dp');
});
afterEach(async () => {
  await agent?.close();
  agent = undefined;
  await rm(base, { recursive: true, force: true });
});

async function httpDp(
  options: { secret?: string; batchBytes?: number; longPollMs?: number } = {},
): Promise<HttpDpAdapter> {
  agent = await createDpAgent({ dir: root, secret: SECRET, longPollMs: options.longPollMs ?? 10_000 });
  url = await agent.listen({ port: 0 });
  return new HttpDpAdapter({
    url,
    secret: options.secret ?? SECRET,
    ...(options.batchBytes !== undefined && { batchBytes: options.batchBytes }),
  });
}

async function install(dp: DpAdapter, built: BuiltVersion): Promise<void> {
  const pkg = built.manifest.packageId;
  await dp.putChunks(pkg, chunksOf(built, await dp.missingChunks(pkg, built.ids)));
  await dp.activate(pkg, built.version, built.manifestId, built.manifestBytes, { seedFromExisting: true });
}

async function rejection(promise: Promise<unknown>): Promise<SitecastError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as SitecastError,
  );
}

const kinds: [string, () => Promise<DpAdapter>][] = [
  ['local folder', () => Promise.resolve(createLocalFolderDp({ root, create: true }))],
  ['DP agent over HTTP', () => httpDp({ batchBytes: 5 * chunk })],
];

describe.each(kinds)('DpAdapter contract: %s', (_name, make) => {
  it('installs a version, then sends only the changed chunks of the next', async () => {
    const dp = await make();
    expect(await dp.missingChunks(A, v1.ids)).toEqual(v1.ids);
    expect(await dp.packageState(A)).toBeNull();
    await install(dp, v1);
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(await dp.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
    expect(await dp.missingChunks(A, v1.ids)).toEqual([]);
    expect((await dp.missingChunks(A, v2.ids)).sort()).toEqual([...changedIds].sort());
    await install(dp, v2);
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
    expect(await dp.packageState(A)).toEqual({ version: 2, manifestId: v2.manifestId });
    expect((await dp.health()).online).toBe(true);
  });

  it('refuses to activate with a chunk missing (MISSING_CHUNKS with the ids), then succeeds once it arrives', async () => {
    const dp = await make();
    await install(dp, v1);
    const [held, ...sent] = changedIds;
    await dp.putChunks(A, chunksOf(v2, sent));
    const error = await rejection(
      dp.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true }),
    );
    expect(error).toMatchObject({
      code: 'MISSING_CHUNKS',
      details: { missing: [held], packageId: A, version: 2 },
    });
    expect(await treeDigests(join(root, A))).toEqual(digests(v1.files));
    expect(await dp.missingChunks(A, v2.ids)).toEqual([held]);
    await dp.putChunks(A, chunksOf(v2, [held!]));
    await dp.activate(A, 2, v2.manifestId, v2.manifestBytes, { seedFromExisting: true });
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
  });

  it('rejects a forged chunk (HASH_MISMATCH naming it) and a tampered manifest, storing nothing', async () => {
    const dp = await make();
    const [first, second] = chunksOf(v1, v1.ids.slice(0, 2));
    const error = await rejection(
      dp.putChunks(A, [first!, { id: second!.id, bytes: Buffer.from('forged') }]),
    );
    expect(error).toMatchObject({ code: 'HASH_MISMATCH', details: { id: second!.id } });
    expect(error.message).toContain(second!.id);
    expect(await dp.missingChunks(A, [first!.id, second!.id])).toEqual([first!.id, second!.id]);
    const tampered = Buffer.from(v1.manifestBytes);
    tampered[tampered.length - 3] = 0x20;
    expect(
      await rejection(dp.activate(A, 1, v1.manifestId, tampered, { seedFromExisting: true })),
    ).toMatchObject({
      code: 'HASH_MISMATCH',
    });
    expect(await rejection(dp.missingChunks('../../etc', v1.ids))).toMatchObject({
      code: 'INVALID_PARAMETER',
    });
  });

  it('verify reports a flipped byte; redistribute rebuilds from sent chunks only and repairs it', async () => {
    const dp = await make();
    await install(dp, v1);
    await flipByte(join(root, A, 'sources/install.wim'), 7 * chunk + 5);
    const report = await dp.verify(A);
    expect(report).toMatchObject({ packageId: A, version: 1, filesChecked: 3, badFiles: [] });
    expect(report.badChunks).toEqual([
      {
        id: v1.manifest.files.find((f) => f.path === 'sources/install.wim')!.chunks[7]!.id,
        path: 'sources/install.wim',
        offset: 7 * chunk,
      },
    ]);
    const error = await rejection(
      dp.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: false }),
    );
    expect([...(error.details.missing as string[])].sort()).toEqual([...v1.ids].sort());
    await dp.putChunks(A, chunksOf(v1));
    await dp.activate(A, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: false });
    expect(await dp.verify(A)).toMatchObject({ badChunks: [], badFiles: [] });
    expect(await rejection(dp.verify(B))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('discardPending drops received chunks; remove deletes one package and keeps another', async () => {
    const dp = await make();
    await install(dp, v1);
    const other = buildVersion(B, 1, [{ path: 'copy.wim', bytes: wim }]);
    await install(dp, other);
    await dp.putChunks(A, chunksOf(v2, changedIds));
    expect(await dp.missingChunks(A, changedIds)).toEqual([]);
    await dp.discardPending(A);
    expect((await dp.missingChunks(A, changedIds)).sort()).toEqual([...changedIds].sort());
    await dp.remove(A);
    await dp.remove(A);
    expect(await dp.packageState(A)).toBeNull();
    expect(await treeDigests(join(root, B))).toEqual(digests(other.files));
  });
});

describe('HttpDpAdapter: what only a remote DP meets', () => {
  const hung: Server[] = [];
  afterAll(() => {
    for (const s of hung) s.close();
  });

  it('reports its own progress of a pending version, and splits large putChunks into batches', async () => {
    const dp = await httpDp({ batchBytes: 3 * chunk });
    await dp.putChunks(A, chunksOf(v1, v1.ids.slice(0, 10)));
    const bytes = v1.ids.slice(0, 10).reduce((n, id) => n + v1.chunks.get(id)!.length, 0);
    expect(await dp.progress(A)).toEqual({ chunks: 10, bytes, activating: null });
    const health = await dp.checkHealth();
    expect(health).toMatchObject({ online: true, packages: [] });
  });

  it('turns a wrong secret into ACCESS_DENIED and a DP without agent into DP_UNAVAILABLE naming the URL', async () => {
    const wrong = await httpDp({ secret: 'not-the-agent-secret-0123456789' });
    const denied = await rejection(wrong.missingChunks(A, v1.ids));
    expect(denied).toMatchObject({ code: 'ACCESS_DENIED' });
    expect(denied.message).toMatch(/rejected the secret/);
    const health = await wrong.health();
    expect(health.online).toBe(false);
    expect(health.error).toMatch(/rejected the secret/);

    await agent!.close();
    agent = undefined;
    const down = new HttpDpAdapter({ url, secret: SECRET });
    const error = await rejection(down.packageState(A));
    expect(error).toMatchObject({ code: 'DP_UNAVAILABLE', details: { url } });
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(await down.health()).toMatchObject({ online: false });
  });

  it('gives up on an agent that does not answer (DP_UNAVAILABLE) and stops at once when cancelled (CANCELLED)', async () => {
    const server = createServer(() => undefined); // accepts, never answers
    hung.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const slow = new HttpDpAdapter({ url: `http://127.0.0.1:${port}`, secret: SECRET, timeoutMs: 200 });
    const started = Date.now();
    const timedOut = await rejection(slow.packageState(A));
    expect(timedOut).toMatchObject({ code: 'DP_UNAVAILABLE' });
    expect(timedOut.message).toMatch(/did not answer within/);
    expect(Date.now() - started).toBeLessThan(5000);

    const patient = new HttpDpAdapter({ url: `http://127.0.0.1:${port}`, secret: SECRET, timeoutMs: 60_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect(await rejection(patient.missingChunks(A, v1.ids, controller.signal))).toMatchObject({
      code: 'CANCELLED',
    });
  });

  it('keeps asking while the agent answers 202 for a long activation', async () => {
    const dp = await httpDp({ longPollMs: 0 });
    await install(dp, v1);
    expect(await dp.packageState(A)).toEqual({ version: 1, manifestId: v1.manifestId });
  });

  it('signs chunk batches by their frames, and by their whole body for an agent that predates that', async () => {
    // A stand-in agent recording what each batch was signed with; `legacy` refuses frame digests as an
    // agent from before chunk-frames-v1 does (its verifyRequest finds no x-content-sha256: 401 malformed).
    const seen: string[] = [];
    let legacy = false;
    const server = createHttpServer((request, response) => {
      const parts: Buffer[] = [];
      request.on('data', (b: Buffer) => parts.push(b));
      request.on('end', () => {
        const body = Buffer.concat(parts);
        const h: IncomingHttpHeaders = request.headers;
        const frames = h['x-chunk-frames-sha256'];
        let status = 200;
        if (frames !== undefined) {
          seen.push(`frames ${frames === digestOf(body) ? 'match' : 'differ'}`);
          if (legacy) status = 401;
        } else {
          const whole = createHash('sha256').update(body).digest('hex');
          seen.push(`body ${h['x-content-sha256'] === whole ? 'match' : 'differ'}`);
        }
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify(
            status === 200
              ? { ok: true }
              : {
                  error: {
                    code: '0x80070005',
                    name: 'ACCESS_DENIED',
                    message: 'x-content-sha256 must be the body SHA-256 in lower-case hex',
                    details: { field: 'authorization', reason: 'malformed' },
                  },
                },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const chunks = chunksOf(v1, v1.ids.slice(0, 3));
      await new HttpDpAdapter({ url, secret: SECRET }).putChunks(A, chunks);
      expect(seen).toEqual(['frames match']);
      legacy = true;
      seen.length = 0;
      const old = new HttpDpAdapter({ url, secret: SECRET });
      await old.putChunks(A, chunks);
      await old.putChunks(A, chunks);
      expect(seen).toEqual(['frames match', 'body match', 'body match']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('announces a version (prepare, the manifest as a delta against the current one) so chunks land in its tree', async () => {
    const dp = await httpDp();
    await install(dp, v1);
    await dp.prepare(A, v2.version, v2.manifestId, v2.manifestBytes, {
      base: { manifestId: v1.manifestId, manifest: v1.manifest },
    });
    const planned = join(root, '.sitecast', 'planned', A);
    expect(await readdir(planned)).toEqual(expect.arrayContaining([`2.${v2.manifestId}.manifest`, 'tree']));
    await dp.putChunks(A, chunksOf(v2, changedIds));
    // Placed in the plan's tree, not kept as a batch file.
    await expect(readdir(join(root, '.sitecast', 'incoming', A))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await dp.progress(A)).toMatchObject({ chunks: changedIds.length });
    await dp.activate(A, v2.version, v2.manifestId, v2.manifestBytes, { seedFromExisting: true });
    expect(await treeDigests(join(root, A))).toEqual(digests(v2.files));
    await expect(readdir(planned)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not announce again to an agent that predates prepare (404), and its chunks still go through', async () => {
    const asked: string[] = [];
    const server = createHttpServer((request, response) => {
      asked.push(`${request.method} ${request.url?.split('?')[0]}`);
      request.resume();
      request.on('end', () => {
        const plan = request.url?.includes('/plan') === true;
        response.writeHead(plan ? 404 : 200, { 'content-type': 'application/json' });
        // What a real agent without the route answers (dp-agent.ts, its not-found handler).
        const noRoute = {
          error: {
            code: '0x80041002',
            name: 'NOT_FOUND',
            message: `no route PUT ${request.url?.split('?')[0]} on this DP agent`,
            details: { field: 'path' },
          },
        };
        response.end(JSON.stringify(plan ? noRoute : { ok: true }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const old = new HttpDpAdapter({
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        secret: SECRET,
      });
      await old.prepare(A, v1.version, v1.manifestId, v1.manifestBytes, {});
      await old.prepare(A, v1.version, v1.manifestId, v1.manifestBytes, {});
      await old.putChunks(A, chunksOf(v1, v1.ids.slice(0, 2)));
      expect(asked).toEqual([`PUT /dp/v1/packages/${A}/versions/1/plan`, 'POST /dp/v1/chunks/batch']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** The frame digest of a chunk batch body, decoded the simple way (36-byte headers, then the bytes). */
function digestOf(body: Buffer): string {
  const frames: { id: string; length: number }[] = [];
  for (let at = 0; at < body.length;) {
    const length = body.readUInt32BE(at + 32);
    frames.push({ id: body.toString('hex', at, at + 32), length });
    at += 36 + length;
  }
  return chunkFramesDigest(frames);
}
