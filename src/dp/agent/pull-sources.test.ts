/**
 * Batched chunk reads over real HTTP: `POST /dp/v1/chunks/read` on an agent and on the site (grants,
 * missing ids, bad input), and PullSources reading through it — falling back by rank for what a source
 * lacks, refusing a corrupt chunk of a batch and fetching it elsewhere, and reading an older source (no
 * batched route) chunk by chunk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSitecastError } from '../../kernel/index.js';
import { issueReadGrant } from '../auth/index.js';
import { decodeChunkBatch, encodeChunkBatch } from '../http/chunk-batch.js';
import { HttpDpAdapter } from '../http/index.js';
import { CHUNKS_MISSING_HEADER, type PullSource } from '../http/dp-wire.js';
import { buildVersion, chunksOf, randomFile } from '../local-folder/package-builder.test-helpers.js';
import { siteSource } from '../source/site-source.test-helpers.js';
import { createDpAgent, type DpAgent } from './dp-agent.js';
import { PullSources } from './pull-sources.js';

const P = 'PS100001';
const agentSecret = 'source-agent-secret-0123456789abcdef';
const pullSecret = 'pull-agent-secret-0123456789abcdef';
const v1 = buildVersion(P, 1, [{ path: 'a.bin', bytes: randomFile(40 * 4096) }]);
const held = v1.ids.slice(0, 20);
const library = new Map(v1.chunks);
const unknownId = 'f'.repeat(64);

let base: string;
let agent: DpAgent;
let site: FastifyInstance;
let oldPeer: FastifyInstance;
let corrupter: FastifyInstance;
const urls = { agent: '', site: '', oldPeer: '', corrupter: '' };
const siteServed: string[] = [];
const oldPeerRequests: string[] = [];
/** The chunk the corrupting source always sends wrong. */
const rotten = v1.ids[5]!;

const exp = (): number => Date.now() + 60_000;
const agentGrant = (): string => issueReadGrant(agentSecret, { dp: 'DP09', pkg: P, exp: exp() });
const siteGrant = (): string => issueReadGrant(pullSecret, { dp: 'DP09', pkg: P, exp: exp() });
const wanted = (ids: readonly string[] = v1.ids): { id: string; size: number }[] =>
  ids.map((id) => ({ id, size: v1.chunks.get(id)!.length }));

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-pull-sources-'));
  agent = await createDpAgent({ dir: join(base, 'agent'), secret: agentSecret });
  urls.agent = await agent.listen({ port: 0 });
  // The agent holds the first half of v1, pending (not activated): it serves what it has received.
  await new HttpDpAdapter({ url: urls.agent, secret: agentSecret }).putChunks(P, chunksOf(v1, held));

  site = await siteSource(library, pullSecret, siteServed);
  urls.site = await site.listen({ port: 0, host: '127.0.0.1' });

  // An older source: the single-chunk GET only.
  oldPeer = Fastify();
  oldPeer.get<{ Params: { id: string } }>('/dp/v1/chunks/:id', (request, reply) => {
    oldPeerRequests.push(request.params.id);
    const bytes = library.get(request.params.id);
    if (!bytes) return reply.code(404).send({ error: 'no' });
    return reply.type('application/octet-stream').send(bytes);
  });
  urls.oldPeer = await oldPeer.listen({ port: 0, host: '127.0.0.1' });

  // A source whose batches carry one chunk with wrong bytes.
  corrupter = Fastify();
  corrupter.post<{ Body: { ids: string[] } }>('/dp/v1/chunks/read', (request, reply) => {
    const chunks = request.body.ids.map((id) => {
      const bytes = Buffer.from(library.get(id)!);
      if (id === rotten) bytes[0] = bytes[0]! ^ 0xff;
      return { id, bytes };
    });
    return reply.type('application/octet-stream').send(encodeChunkBatch(chunks));
  });
  urls.corrupter = await corrupter.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await Promise.all([agent.close(), site.close(), oldPeer.close(), corrupter.close()]);
  await rm(base, { recursive: true, force: true });
});

function read(url: string, ids: unknown, grant: string | null): Promise<Response> {
  return fetch(`${url}/dp/v1/chunks/read`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(grant !== null && { authorization: `Sitecast-Grant ${grant}` }),
    },
    body: JSON.stringify({ ids }),
  });
}

describe('POST /dp/v1/chunks/read', () => {
  it('on an agent: the chunks it has, in the order asked, and how many it lacks', async () => {
    const before = (await new HttpDpAdapter({ url: urls.agent, secret: agentSecret }).stats()).served;
    const ids = [held[3]!, unknownId, held[0]!, v1.ids[30]!, held[7]!];
    const r = await read(urls.agent, ids, agentGrant());
    expect(r.status).toBe(200);
    expect(r.headers.get(CHUNKS_MISSING_HEADER)).toBe('2');
    const frames = decodeChunkBatch(Buffer.from(await r.arrayBuffer()));
    expect(frames.map((f) => f.id)).toEqual([held[3], held[0], held[7]]);
    for (const f of frames) expect(f.bytes.equals(v1.chunks.get(f.id)!)).toBe(true);
    const after = (await new HttpDpAdapter({ url: urls.agent, secret: agentSecret }).stats()).served;
    expect(after.chunks - before.chunks).toBe(3);
  });

  it('on the site: the chunks its library has, and how many it lacks', async () => {
    siteServed.length = 0;
    const r = await read(urls.site, [v1.ids[1]!, unknownId, v1.ids[39]!], siteGrant());
    expect(r.status).toBe(200);
    expect(r.headers.get(CHUNKS_MISSING_HEADER)).toBe('1');
    const frames = decodeChunkBatch(Buffer.from(await r.arrayBuffer()));
    expect(frames.map((f) => f.id)).toEqual([v1.ids[1], v1.ids[39]]);
    expect(siteServed).toEqual([v1.ids[1], v1.ids[39]]);
  });

  it('refuses a wrong, expired or missing grant (401) and bad ids (400), on the agent and on the site', async () => {
    const ids = [held[0]!];
    const wrongForAgent = issueReadGrant(pullSecret, { dp: 'DP09', pkg: P, exp: exp() });
    const expired = issueReadGrant(agentSecret, { dp: 'DP09', pkg: P, exp: Date.now() - 1000 });
    const r1 = await read(urls.agent, ids, wrongForAgent);
    expect(r1.status).toBe(401);
    expect(await r1.text()).toMatch(/issued for another source/);
    expect((await read(urls.agent, ids, expired)).status).toBe(401);
    expect((await read(urls.agent, ids, null)).status).toBe(401);
    const r2 = await read(urls.site, ids, agentGrant());
    expect(r2.status).toBe(401);
    expect((await read(urls.site, ids, null)).status).toBe(401);
    // A grant reads chunks and nothing else: not the push routes next to it.
    const push = await fetch(`${urls.agent}/dp/v1/chunks/batch?packageId=${P}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        authorization: `Sitecast-Grant ${agentGrant()}`,
      },
      body: encodeChunkBatch(chunksOf(v1, [v1.ids[30]!])),
    });
    expect(push.status).toBe(401);
    for (const url of [urls.agent, urls.site]) {
      const grant = url === urls.agent ? agentGrant() : siteGrant();
      const bad = await read(url, ['nothex'], grant);
      expect(bad.status).toBe(400);
      expect(await bad.text()).toMatch(/ids/);
      expect((await read(url, [], grant)).status).toBe(400);
      expect(
        (
          await read(
            url,
            Array.from({ length: 1025 }, () => unknownId),
            grant,
          )
        ).status,
      ).toBe(400);
    }
  });
});

describe('PullSources over batched reads', () => {
  const source = (name: string, url: string, rank: number, grant: string): PullSource => ({
    name,
    url,
    rank,
    grant,
  });
  const failures: { name: string; ids: readonly string[]; reason: string }[] = [];
  const sources = (list: PullSource[]): PullSources =>
    new PullSources(list, {
      timeoutMs: 5000,
      onFailure: (s, ids, reason) => failures.push({ name: s.name, ids, reason }),
    });
  const signal = new AbortController().signal;

  it('takes what the rank-1 agent has and only what it lacks from the site (rank 2)', async () => {
    siteServed.length = 0;
    failures.length = 0;
    const s = sources([
      source('DP02', urls.agent, 1, agentGrant()),
      source('site', urls.site, 2, siteGrant()),
    ]);
    const { chunks, unavailable } = await s.fetchMany(wanted(), signal);
    expect(unavailable).toBeNull();
    expect(new Map(chunks.map((c) => [c.id, c.bytes]))).toEqual(v1.chunks);
    expect(new Set(siteServed)).toEqual(new Set(v1.ids.slice(20)));
    expect(siteServed).toHaveLength(20);
    expect(failures).toEqual([{ name: 'DP02', ids: v1.ids.slice(20), reason: 'does not have it (404)' }]);
  });

  it('refuses the corrupt chunk of a batch, keeps the rest, and fetches that one from the next source', async () => {
    siteServed.length = 0;
    failures.length = 0;
    const s = sources([
      source('bad', urls.corrupter, 1, 'v1.x.y'),
      source('site', urls.site, 2, siteGrant()),
    ]);
    const { chunks, unavailable } = await s.fetchMany(wanted(), signal);
    expect(unavailable).toBeNull();
    expect(chunks).toHaveLength(40);
    for (const c of chunks) expect(c.bytes.equals(v1.chunks.get(c.id)!)).toBe(true);
    expect(siteServed).toEqual([rotten]);
    expect(failures).toEqual([
      { name: 'bad', ids: [rotten], reason: 'sent 4096 bytes that do not hash to the chunk id' },
    ]);
  });

  it('reads a source without the batched route chunk by chunk', async () => {
    oldPeerRequests.length = 0;
    failures.length = 0;
    const s = sources([source('old', urls.oldPeer, 1, 'v1.x.y')]);
    const some = v1.ids.slice(0, 10);
    const { chunks, unavailable } = await s.fetchMany(wanted(some), signal);
    expect(unavailable).toBeNull();
    expect(chunks.map((c) => c.id)).toEqual(some);
    expect(oldPeerRequests).toEqual(some);
    expect(failures).toEqual([]);
    // It is remembered: the next read goes straight to the single-chunk route.
    oldPeerRequests.length = 0;
    expect(await s.fetch(v1.ids[11]!, 4096, signal)).toEqual(v1.chunks.get(v1.ids[11]!));
    expect(oldPeerRequests).toEqual([v1.ids[11]]);
  });

  it('answers what it could and DP_UNAVAILABLE for what no source has', async () => {
    failures.length = 0;
    const s = new PullSources([source('DP02', urls.agent, 1, agentGrant())], { timeoutMs: 5000, passes: 2 });
    const ids = [held[0]!, v1.ids[25]!, v1.ids[26]!];
    const { chunks, unavailable } = await s.fetchMany(wanted(ids), signal);
    expect(chunks.map((c) => c.id)).toEqual([held[0]]);
    expect(isSitecastError(unavailable, 'DP_UNAVAILABLE')).toBe(true);
    expect(unavailable?.message).toMatch(
      new RegExp(`chunk ${v1.ids[25]} and 1 more: no pull source could supply it \\(DP02: does not have it`),
    );
  });

  it('counts a refused grant as a failure of that source and moves on', async () => {
    failures.length = 0;
    const s = sources([source('DP02', urls.agent, 1, 'v1.x.y'), source('site', urls.site, 2, siteGrant())]);
    const { chunks, unavailable } = await s.fetchMany(wanted(held.slice(0, 4)), signal);
    expect(unavailable).toBeNull();
    expect(chunks).toHaveLength(4);
    expect(failures).toEqual([{ name: 'DP02', ids: held.slice(0, 4), reason: 'HTTP 401' }]);
  });
});
