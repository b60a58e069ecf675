import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../kernel/index.js';
import { signRequest } from '../auth/index.js';
import { chunkFramesDigest, encodeChunkBatch, type ChunkFrame } from '../http/chunk-batch.js';
import {
  buildVersion,
  chunksOf,
  digests,
  randomFile,
  treeDigests,
} from '../local-folder/package-builder.test-helpers.js';
import { createDpAgent, type DpAgent } from './dp-agent.js';

const SECRET = 'agent-test-secret-0123456789abcdef';
const A = 'PS100001';
const chunk = 4096;
const v1 = buildVersion(A, 1, [
  { path: 'sources/install.wim', bytes: randomFile(12 * chunk) },
  { path: 'readme.txt', bytes: Buffer.from('hello\n') },
]);
const v2Wim = Buffer.from(v1.files.get('sources/install.wim')!);
v2Wim.fill(7, 3 * chunk, 3 * chunk + 5);
const v2 = buildVersion(A, 2, [{ path: 'sources/install.wim', bytes: v2Wim }]);

let base: string;
let dir: string;
let clock: FakeClock;
let agent: DpAgent;
let app: FastifyInstance;
const logged: string[] = [];

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-agent-'));
  dir = join(base, 'dp');
  clock = new FakeClock();
  logged.length = 0;
  agent = await createDpAgent({ dir, secret: SECRET, clock, logger: (l) => logged.push(l), longPollMs: 0 });
  app = agent.app;
});
afterEach(async () => {
  await agent.close();
  await rm(base, { recursive: true, force: true });
});

/** What the agent answers, loosely: each test reads the fields its call returns. */
interface AgentJson {
  readonly error: {
    readonly code: string;
    readonly name: string;
    readonly message: string;
    readonly details: { readonly reason?: string; readonly field?: string; readonly [k: string]: unknown };
  };
  readonly missing: string[];
  readonly pending: Record<string, unknown>;
  readonly [k: string]: unknown;
}

interface CallOptions {
  readonly body?: Buffer;
  readonly json?: unknown;
  readonly contentType?: string;
  readonly secret?: string | null;
  /** Signs for other bytes than those sent. */
  readonly signedBody?: Buffer;
  /** Signs these chunk frames (mode chunk-frames-v1) instead of the body, as the site signs chunk uploads. */
  readonly frames?: readonly ChunkFrame[];
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, o: CallOptions = {}) {
  const body = o.json !== undefined ? Buffer.from(JSON.stringify(o.json)) : o.body;
  const contentType =
    o.contentType ??
    (o.json !== undefined ? 'application/json' : body ? 'application/octet-stream' : undefined);
  const auth =
    o.secret === null
      ? {}
      : signRequest({
          secret: o.secret ?? SECRET,
          method,
          pathAndQuery: url,
          ...(o.frames ? { chunkFramesSha256: chunkFramesDigest(o.frames) } : { body: o.signedBody ?? body }),
          clock,
        });
  const response = await app.inject({
    method,
    url,
    headers: { ...auth, ...(contentType && { 'content-type': contentType }) },
    ...(body && { payload: body }),
  });
  return {
    status: response.statusCode,
    json: () => response.json<AgentJson>(),
    raw: response.rawPayload,
  };
}

const batchUrl = `/dp/v1/chunks/batch?packageId=${A}`;
const activateUrl = (b: typeof v1, extra = '') =>
  `/dp/v1/packages/${A}/versions/${b.version}?manifestId=${b.manifestId}${extra}`;

async function install(b: typeof v1): Promise<void> {
  const missing = (await call('POST', '/dp/v1/chunks/missing', { json: { packageId: A, ids: b.ids } })).json()
    .missing;
  if (missing.length > 0)
    expect((await call('POST', batchUrl, { body: encodeChunkBatch(chunksOf(b, missing)) })).status).toBe(200);
  expect((await call('PUT', activateUrl(b), { body: b.manifestBytes })).status).toBe(200);
}

describe('DP agent /dp/v1', () => {
  it('distributes two versions: missing, batch, 409 with the missing ids, activate, delta only, status and progress', async () => {
    expect(
      (await call('POST', '/dp/v1/chunks/missing', { json: { packageId: A, ids: v1.ids } })).json(),
    ).toEqual({ missing: v1.ids });
    const [held, ...sent] = v1.ids;
    expect((await call('POST', batchUrl, { body: encodeChunkBatch(chunksOf(v1, sent)) })).json()).toEqual({
      ok: true,
      chunks: sent.length,
    });
    const status = (await call('GET', `/dp/v1/packages/${A}`)).json();
    expect(status).toEqual({
      packageId: A,
      version: null,
      manifestId: null,
      pending: {
        chunks: sent.length,
        bytes: sent.reduce((n, id) => n + v1.chunks.get(id)!.length, 0),
        activating: null,
      },
      pull: null,
    });

    const refused = await call('PUT', activateUrl(v1), { body: v1.manifestBytes });
    expect(refused.status).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: '0x80070490',
      name: 'MISSING_CHUNKS',
      details: { missing: [held] },
    });
    expect(existsSync(join(dir, A))).toBe(false);

    expect(
      (await call('PUT', `/dp/v1/chunks/${held}?packageId=${A}`, { body: v1.chunks.get(held!)! })).status,
    ).toBe(200);
    const ok = await call('PUT', activateUrl(v1), { body: v1.manifestBytes });
    expect(ok.json()).toEqual({ packageId: A, version: 1, manifestId: v1.manifestId });
    expect(await treeDigests(join(dir, A))).toEqual(digests(v1.files));
    expect(logged.some((l) => l.startsWith(`${A}: SourceVersion 1 active`))).toBe(true);

    const delta = (
      await call('POST', '/dp/v1/chunks/missing', { json: { packageId: A, ids: v2.ids } })
    ).json().missing;
    expect(delta).toEqual(v2.ids.filter((id) => !v1.chunks.has(id)));
    expect(delta).toHaveLength(1);
    await install(v2);
    expect((await call('GET', `/dp/v1/packages/${A}`)).json()).toMatchObject({
      version: 2,
      manifestId: v2.manifestId,
      pending: { chunks: 0, bytes: 0 },
    });
    const read = await call('GET', `/dp/v1/chunks/${v2.ids[0]}`);
    expect(read.raw.equals(v2.chunks.get(v2.ids[0]!)!)).toBe(true);
    // Clients read the current version under /content without the site's secret.
    const file = await app.inject({ method: 'GET', url: `/content/${A}/sources/install.wim` });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.equals(v2Wim)).toBe(true);
  });

  it('verify, discard-pending, delete and health', async () => {
    await install(v1);
    expect((await call('POST', `/dp/v1/packages/${A}/verify`)).json()).toMatchObject({
      packageId: A,
      version: 1,
      filesChecked: 2,
      badChunks: [],
      badFiles: [],
    });
    const health = (await call('GET', '/dp/v1/health')).json();
    expect(health).toMatchObject({
      online: true,
      packages: [{ packageId: A, version: 1, manifestId: v1.manifestId }],
    });
    expect(health.freeBytes).toBeGreaterThan(0);

    const newIds = v2.ids.filter((id) => !v1.chunks.has(id));
    await call('POST', batchUrl, { body: encodeChunkBatch(chunksOf(v2, newIds)) });
    expect((await call('POST', `/dp/v1/packages/${A}/discard-pending`)).json()).toEqual({ ok: true });
    expect((await call('GET', `/dp/v1/packages/${A}`)).json().pending).toMatchObject({ chunks: 0 });

    expect((await call('DELETE', `/dp/v1/packages/${A}`)).json()).toEqual({ ok: true });
    expect(existsSync(join(dir, A))).toBe(false);
    expect((await call('GET', `/dp/v1/packages/${A}`)).json()).toMatchObject({ version: null });
    expect((await call('POST', `/dp/v1/packages/${A}/verify`)).status).toBe(404);
  });

  it('answers 401 without a signature, with another secret, with a stale or replayed one, and changes nothing', async () => {
    await install(v1);
    const newIds = v2.ids.filter((id) => !v1.chunks.has(id));
    const batch = encodeChunkBatch(chunksOf(v2, newIds));
    const attempts = [
      await call('POST', batchUrl, { body: batch, secret: null }),
      await call('POST', batchUrl, { body: batch, secret: 'some-other-secret-0123456789' }),
      await call('DELETE', `/dp/v1/packages/${A}`, { secret: 'some-other-secret-0123456789' }),
      await call('POST', `/dp/v1/packages/${A}/discard-pending`, { secret: null }),
      await call('GET', '/dp/v1/health', { secret: null }),
      await call('POST', batchUrl, { body: batch, signedBody: Buffer.from('other bytes') }),
    ];
    for (const r of attempts) {
      expect(r.status).toBe(401);
      expect(r.json().error).toMatchObject({ name: 'ACCESS_DENIED', details: { field: 'authorization' } });
    }
    expect(attempts.map((r) => r.json().error.details.reason)).toEqual([
      'missing',
      'unknown-key',
      'unknown-key',
      'missing',
      'missing',
      'body',
    ]);

    // Nothing was stored, discarded or removed by the refused calls.
    expect(await treeDigests(join(dir, A))).toEqual(digests(v1.files));
    expect((await call('GET', `/dp/v1/packages/${A}`)).json()).toMatchObject({
      version: 1,
      pending: { chunks: 0 },
    });

    // A request signed 6 minutes ago, and one sent twice.
    const headers = signRequest({
      secret: SECRET,
      method: 'DELETE',
      pathAndQuery: `/dp/v1/packages/${A}`,
      clock,
    });
    clock.advance(6 * 60_000);
    const stale = await app.inject({
      method: 'DELETE',
      url: `/dp/v1/packages/${A}`,
      headers: { ...headers },
    });
    expect(stale.statusCode).toBe(401);
    expect(stale.json<{ error: { details: { reason: string } } }>().error.details.reason).toBe('stale');
    expect(existsSync(join(dir, A))).toBe(true);
    const fresh = signRequest({
      secret: SECRET,
      method: 'DELETE',
      pathAndQuery: `/dp/v1/packages/${A}`,
      clock,
    });
    const send = () => app.inject({ method: 'DELETE', url: `/dp/v1/packages/${A}`, headers: { ...fresh } });
    expect((await send()).statusCode).toBe(200);
    expect(existsSync(join(dir, A))).toBe(false);
    expect((await send()).json<{ error: { details: { reason: string } } }>().error.details.reason).toBe(
      'replayed',
    );
    expect(logged.filter((l) => l.startsWith('refused'))).toHaveLength(8);
  });

  it('refuses a chunk whose bytes do not hash to its id with 422, storing nothing of the batch', async () => {
    const [first, second] = chunksOf(v1, v1.ids.slice(0, 2));
    const forged = encodeChunkBatch([first!, { id: second!.id, bytes: Buffer.from('forged') }]);
    const r = await call('POST', batchUrl, { body: forged });
    expect(r.status).toBe(422);
    expect(r.json().error).toMatchObject({
      code: '0x80070017',
      name: 'HASH_MISMATCH',
      details: { id: second!.id },
    });
    const single = await call('PUT', `/dp/v1/chunks/${first!.id}?packageId=${A}`, {
      body: Buffer.from('nope'),
    });
    expect(single.json().error.name).toBe('HASH_MISMATCH');
    expect(
      (
        await call('POST', '/dp/v1/chunks/missing', { json: { packageId: A, ids: [first!.id, second!.id] } })
      ).json().missing,
    ).toHaveLength(2);
  });

  describe('chunk uploads signed by their frames (chunk-frames-v1)', () => {
    const framesOf = (chunks: readonly { id: string; bytes: Buffer }[]): ChunkFrame[] =>
      chunks.map((c) => ({ id: c.id, length: c.bytes.length }));
    const missingOf = async (ids: readonly string[]) =>
      (await call('POST', '/dp/v1/chunks/missing', { json: { packageId: A, ids } })).json().missing;

    it('stores a batch and a single chunk whose frames were signed, and installs from them', async () => {
      const [single, ...rest] = chunksOf(v1, v1.ids);
      const ok = await call('POST', batchUrl, { body: encodeChunkBatch(rest), frames: framesOf(rest) });
      expect(ok.json()).toEqual({ ok: true, chunks: rest.length });
      const put = await call('PUT', `/dp/v1/chunks/${single!.id}?packageId=${A}`, {
        body: single!.bytes,
        frames: framesOf([single!]),
      });
      expect(put.json()).toEqual({ ok: true });
      expect(await missingOf(v1.ids)).toEqual([]);
      expect((await call('PUT', activateUrl(v1), { body: v1.manifestBytes })).status).toBe(200);
      expect(await treeDigests(join(dir, A))).toEqual(digests(v1.files));
    });

    it('refuses tampered chunk bytes with HASH_MISMATCH, storing nothing of the batch', async () => {
      const chunks = chunksOf(v1, v1.ids.slice(0, 3));
      const body = encodeChunkBatch(chunks);
      // Same ids and lengths (the signed frames hold), one byte of the second chunk's bytes flipped.
      const at = 2 * 36 + chunks[0]!.bytes.length + 10;
      body[at] = body[at]! ^ 0xff;
      const r = await call('POST', batchUrl, { body, frames: framesOf(chunks) });
      expect(r.status).toBe(422);
      expect(r.json().error).toMatchObject({ name: 'HASH_MISMATCH', details: { id: chunks[1]!.id } });
      const single = Buffer.from(chunks[0]!.bytes);
      single[0] = single[0]! ^ 1;
      const put = await call('PUT', `/dp/v1/chunks/${chunks[0]!.id}?packageId=${A}`, {
        body: single,
        frames: framesOf(chunks.slice(0, 1)),
      });
      expect(put.json().error.name).toBe('HASH_MISMATCH');
      expect(await missingOf(v1.ids)).toEqual(v1.ids);
      expect((await call('GET', `/dp/v1/packages/${A}`)).json().pending).toMatchObject({ chunks: 0 });
    });

    it('refuses a body whose frames are not the signed ones (401) or do not parse (400), storing nothing', async () => {
      const chunks = chunksOf(v1, v1.ids.slice(0, 3));
      const signedFrames = framesOf(chunks);
      // Every chunk below is genuine (its bytes hash to its id): only the frames differ from the signed ones.
      const bodies = [
        encodeChunkBatch([chunks[0]!, chunks[1]!]), // one dropped
        encodeChunkBatch([chunks[1]!, chunks[0]!, chunks[2]!]), // reordered
        encodeChunkBatch([...chunks, ...chunksOf(v1, v1.ids.slice(3, 4))]), // one added
        encodeChunkBatch([chunks[0]!, chunks[1]!, ...chunksOf(v1, v1.ids.slice(3, 4))]), // one swapped
      ];
      for (const body of bodies) {
        const r = await call('POST', batchUrl, { body, frames: signedFrames });
        expect(r.status).toBe(401);
        expect(r.json().error).toMatchObject({ name: 'ACCESS_DENIED', details: { reason: 'body' } });
      }
      // A changed length in a header: the framing no longer parses, or parses into other frames.
      const lengthChanged = encodeChunkBatch(chunks);
      lengthChanged.writeUInt32BE(chunks[0]!.bytes.length + 1, 32);
      const r = await call('POST', batchUrl, { body: lengthChanged, frames: signedFrames });
      expect([400, 401]).toContain(r.status);
      const cut = await call('POST', batchUrl, {
        body: encodeChunkBatch(chunks).subarray(0, 100),
        frames: signedFrames,
      });
      expect(cut.status).toBe(400);
      expect(cut.json().error.message).toMatch(/cut off/);
      // A single PUT signed for one chunk, sent to another chunk's URL.
      const other = await call('PUT', `/dp/v1/chunks/${chunks[1]!.id}?packageId=${A}`, {
        body: chunks[1]!.bytes,
        frames: framesOf(chunks.slice(0, 1)),
      });
      expect(other.status).toBe(401);
      expect(await missingOf(v1.ids)).toEqual(v1.ids);
      expect((await call('GET', `/dp/v1/packages/${A}`)).json().pending).toMatchObject({ chunks: 0 });
    });

    it('refuses a replayed frame-signed batch, and frame signing on any other request', async () => {
      const chunks = chunksOf(v1, v1.ids.slice(0, 2));
      const body = encodeChunkBatch(chunks);
      const headers = signRequest({
        secret: SECRET,
        method: 'POST',
        pathAndQuery: batchUrl,
        chunkFramesSha256: chunkFramesDigest(framesOf(chunks)),
        clock,
      });
      const send = () =>
        app.inject({
          method: 'POST',
          url: batchUrl,
          headers: { ...headers, 'content-type': 'application/octet-stream' },
          payload: body,
        });
      expect((await send()).statusCode).toBe(200);
      const again = await send();
      expect(again.statusCode).toBe(401);
      expect(again.json<AgentJson>().error.details.reason).toBe('replayed');

      // Only chunk uploads may leave their body's bytes to the chunk ids: a manifest must sign its body.
      const manifest = await call('PUT', activateUrl(v1), { body: v1.manifestBytes, frames: [] });
      expect(manifest.status).toBe(401);
      expect(manifest.json().error.details.reason).toBe('malformed');
      const missing = await call('POST', '/dp/v1/chunks/missing', {
        json: { packageId: A, ids: v1.ids },
        frames: [],
      });
      expect(missing.json().error.details.reason).toBe('malformed');
      expect((await call('GET', `/dp/v1/packages/${A}`)).json()).toMatchObject({ version: null });
    });
  });

  it('answers 400 naming the field for bad ids, versions, bodies and content types, and 413 for a body over the limit', async () => {
    const cases: [Promise<{ status: number; json: () => AgentJson }>, RegExp][] = [
      [call('POST', '/dp/v1/chunks/missing', { json: { packageId: '../etc', ids: [] } }), /PackageID/],
      [call('POST', '/dp/v1/chunks/missing', { json: { packageId: A, ids: ['zz'] } }), /chunk id/],
      [call('POST', '/dp/v1/chunks/missing', { json: { packageId: A } }), /body\.ids/],
      [
        call('POST', '/dp/v1/chunks/missing', {
          body: Buffer.from('{nope'),
          contentType: 'application/json',
        }),
        /not valid JSON/,
      ],
      [
        call('POST', '/dp/v1/chunks/missing', { body: Buffer.from('x'), contentType: 'text/plain' }),
        /Content-Type/,
      ],
      [call('POST', batchUrl, { json: [] }), /Content-Type must be application\/octet-stream/],
      [
        call('POST', batchUrl, { body: encodeChunkBatch(chunksOf(v1, v1.ids.slice(0, 1))).subarray(0, 50) }),
        /cut off/,
      ],
      [call('POST', '/dp/v1/chunks/batch', { body: Buffer.alloc(0) }), /query\.packageId/],
      [
        call('PUT', `/dp/v1/packages/${A}/versions/abc?manifestId=${v1.manifestId}`, {
          body: v1.manifestBytes,
        }),
        /path\.v/,
      ],
      [call('PUT', `/dp/v1/packages/${A}/versions/1`, { body: v1.manifestBytes }), /query\.manifestId/],
      [call('GET', '/dp/v1/chunks/XYZ'), /chunk id/],
      [call('GET', '/dp/v1/packages/lower'), /PackageID/],
    ];
    for (const [pending, message] of cases) {
      const r = await pending;
      expect(r.status, String(message)).toBe(400);
      expect(r.json().error.name).toBe('INVALID_PARAMETER');
      expect(r.json().error.message).toMatch(message);
    }
    const big = await call('POST', '/dp/v1/chunks/missing', {
      json: { packageId: A, ids: Array(130_000).fill('a'.repeat(64)) },
    });
    expect(big.status).toBe(413);
    expect(big.json().error.message).toMatch(/larger than this agent's limit of 8388608 bytes/);
    expect((await call('GET', '/dp/v1/nothing')).status).toBe(404);
  });

  it('answers 202 to a long operation still running and the repeated request collects its result', async () => {
    const missing = v1.ids;
    await call('POST', batchUrl, { body: encodeChunkBatch(chunksOf(v1, missing)) });
    const url = activateUrl(v1, '&op=test-operation-1');
    let r = await call('PUT', url, { body: v1.manifestBytes });
    let rounds = 1;
    while (r.status === 202) {
      expect(r.json()).toEqual({ running: true, operation: 'test-operation-1' });
      r = await call('PUT', url, { body: v1.manifestBytes });
      rounds++;
    }
    expect(r.json()).toEqual({ packageId: A, version: 1, manifestId: v1.manifestId });
    // Collected again after the end: the same answer, not a second activation.
    expect((await call('PUT', url, { body: v1.manifestBytes })).json()).toEqual({
      packageId: A,
      version: 1,
      manifestId: v1.manifestId,
    });
    expect(logged.filter((l) => l.includes('SourceVersion 1 active'))).toHaveLength(1);
    const reused = await call('PUT', activateUrl(v1, '&op=test-operation-1&seedFromExisting=false'), {
      body: v1.manifestBytes,
    });
    expect(reused.status).toBe(400);
    expect(reused.json().error.details.field).toBe('op');
    expect(rounds).toBeGreaterThanOrEqual(1);
  });
});

describe('DP agent with a content token', () => {
  it('asks clients for the bearer token on /content only; the site keeps signing /dp/v1', async () => {
    const guarded = await createDpAgent({
      dir: join(base, 'guarded'),
      secret: SECRET,
      clock,
      contentToken: 'tok-1',
    });
    try {
      const previous = app;
      app = guarded.app;
      try {
        await install(v1);
      } finally {
        app = previous;
      }
      const url = `/content/${A}/readme.txt`;
      const anonymous = await guarded.app.inject({ method: 'GET', url });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer /);
      const wrong = await guarded.app.inject({
        method: 'GET',
        url,
        headers: { authorization: 'Bearer tok-2' },
      });
      expect(wrong.statusCode).toBe(401);
      const right = await guarded.app.inject({
        method: 'GET',
        url,
        headers: { authorization: 'Bearer tok-1' },
      });
      expect(right.statusCode).toBe(200);
      expect(right.body).toBe('hello\n');
    } finally {
      await guarded.close();
    }
  });

  it('refuses an empty content token at start rather than accepting "Bearer " as a credential', async () => {
    await expect(
      createDpAgent({ dir: join(base, 'empty'), secret: SECRET, clock, contentToken: '' }),
    ).rejects.toThrow(/content token must not be empty/);
  });
});
