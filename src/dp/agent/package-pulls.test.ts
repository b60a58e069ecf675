/**
 * Pull mode over real HTTP, in one process: a pull agent fetches a version from a ranked list of sources
 * (another agent, the site's chunk routes, a source that lies) with read grants, and activates it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueReadGrant } from '../auth/index.js';
import { HttpDpAdapter } from '../http/index.js';
import type { PackageStatus, PullRequest, PullSource } from '../http/dp-wire.js';
import {
  buildVersion,
  chunksOf,
  digests,
  randomFile,
  treeDigests,
} from '../local-folder/package-builder.test-helpers.js';
import { siteSource } from '../source/site-source.test-helpers.js';
import { createDpAgent, type DpAgent } from './dp-agent.js';

const P = 'PS100001';
const sourceSecret = 'source-agent-secret-0123456789abcdef';
const pullSecret = 'pull-agent-secret-0123456789abcdef';
const v1 = buildVersion(P, 1, [{ path: 'a.bin', bytes: randomFile(40 * 4096) }]);
const v2Bytes = Buffer.concat([v1.files.get('a.bin')!, randomFile(20 * 4096)]);
const v2 = buildVersion(P, 2, [
  { path: 'a.bin', bytes: v2Bytes },
  { path: 'b.txt', bytes: Buffer.from('v2\n') },
]);

let base: string;
let source: DpAgent;
let puller: DpAgent;
let site: FastifyInstance;
let liar: FastifyInstance;
let sourceUrl: string;
let pullUrl: string;
let siteUrl: string;
let liarUrl: string;
const siteServed: string[] = [];
/** What the site's content library holds: every chunk of both versions. */
const library = new Map([...v1.chunks, ...v2.chunks]);
const logged: string[] = [];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sitecast-pull-'));
  source = await createDpAgent({ dir: join(base, 'source'), secret: sourceSecret });
  puller = await createDpAgent({
    dir: join(base, 'pull'),
    secret: pullSecret,
    logger: (l) => logged.push(l),
    pull: { timeoutMs: 5000 },
  });
  sourceUrl = await source.listen({ port: 0 });
  pullUrl = await puller.listen({ port: 0 });
  // The source agent holds v1 only.
  const toSource = new HttpDpAdapter({ url: sourceUrl, secret: sourceSecret });
  await toSource.putChunks(P, chunksOf(v1));
  await toSource.activate(P, 1, v1.manifestId, v1.manifestBytes, { seedFromExisting: true });
  // The site has every chunk of both versions.
  site = await siteSource(library, pullSecret, siteServed);
  siteUrl = await site.listen({ port: 0, host: '127.0.0.1' });
  // A source whose bytes never match their id.
  liar = Fastify();
  liar.get('/dp/v1/chunks/:id', (_req, reply) =>
    reply.type('application/octet-stream').send(randomFile(4096)),
  );
  liarUrl = await liar.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await Promise.all([source.close(), puller.close(), site.close(), liar.close()]);
  await rm(base, { recursive: true, force: true });
});

const exp = (): number => Date.now() + 60_000;
const toPuller = (): HttpDpAdapter => new HttpDpAdapter({ url: pullUrl, secret: pullSecret });

function request(
  version: Pick<typeof v1, 'version' | 'manifestId' | 'manifestBytes'>,
  sources: PullSource[],
  extra: Partial<PullRequest> = {},
): PullRequest {
  return {
    version: version.version,
    manifestId: version.manifestId,
    manifest: version.manifestBytes.toString('base64'),
    seedFromExisting: true,
    rebuild: false,
    sources,
    rateLimit: 'unlimited',
    availability: '0'.repeat(168),
    timeZone: 'UTC',
    priority: 2,
    ...extra,
  };
}

async function until(
  adapter: HttpDpAdapter,
  done: (s: PackageStatus) => boolean,
  packageId = P,
): Promise<PackageStatus> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await adapter.status(packageId);
    if (done(s) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('pulls v1 from a rank-1 agent with a grant, ignoring a lying rank-1 source, never storing its bytes', async () => {
  const adapter = toPuller();
  const started = await adapter.pull(
    P,
    request(v1, [
      {
        name: 'DP02',
        url: sourceUrl,
        rank: 1,
        grant: issueReadGrant(sourceSecret, { dp: 'DP09', pkg: P, exp: exp() }),
      },
      { name: 'liar', url: liarUrl, rank: 1, grant: 'v1.x.y' },
    ]),
  );
  expect(started.pull?.state).toBe('fetching');
  const s = await until(adapter, (x) => x.pull?.state === 'done' || x.pull?.state === 'failed');
  expect(s.pull).toMatchObject({ state: 'done', chunksDone: v1.ids.length, bytesDone: 40 * 4096 });
  expect(s.version).toBe(1);
  expect(await treeDigests(join(base, 'pull', P))).toEqual(digests(v1.files));
  const stats = await adapter.stats();
  expect(stats.pulled).toEqual({ chunks: v1.ids.length, bytes: 40 * 4096 });
  expect((await new HttpDpAdapter({ url: sourceUrl, secret: sourceSecret }).stats()).served.chunks).toBe(
    v1.ids.length,
  );
});

it('pulls only the v2 chunks it lacks: what the rank-1 agent does not have comes from the site (rank 2)', async () => {
  siteServed.length = 0;
  const adapter = toPuller();
  const before = (await adapter.stats()).pulled;
  await adapter.pull(
    P,
    request(v2, [
      {
        name: 'DP02',
        url: sourceUrl,
        rank: 1,
        grant: issueReadGrant(sourceSecret, { dp: 'DP09', pkg: P, exp: exp() }),
      },
      {
        name: 'site',
        url: siteUrl,
        rank: 2,
        grant: issueReadGrant(pullSecret, { dp: 'DP09', pkg: P, exp: exp() }),
      },
    ]),
  );
  const s = await until(adapter, (x) => x.pull?.state === 'done' || x.pull?.state === 'failed');
  expect(s.pull?.state, JSON.stringify(s.pull?.error)).toBe('done');
  expect(s.version).toBe(2);
  expect(await treeDigests(join(base, 'pull', P))).toEqual(digests(v2.files));
  const newIds = v2.ids.filter((id) => !v1.chunks.has(id));
  expect(new Set(siteServed)).toEqual(new Set(newIds));
  expect((await adapter.stats()).pulled.chunks - before.chunks).toBe(newIds.length);
});

it('refuses chunk reads with a grant signed for another source, an expired grant, or none', async () => {
  const id = v1.ids[0]!;
  const get = (url: string, auth?: string): Promise<Response> =>
    fetch(`${url}/dp/v1/chunks/${id}`, auth ? { headers: { authorization: auth } } : {});
  const wrongKey = issueReadGrant(pullSecret, { dp: 'DP09', pkg: P, exp: exp() });
  const expired = issueReadGrant(sourceSecret, { dp: 'DP09', pkg: P, exp: Date.now() - 1000 });
  const r1 = await get(sourceUrl, `Sitecast-Grant ${wrongKey}`);
  expect(r1.status).toBe(401);
  expect(await r1.text()).toMatch(/issued for another source/);
  const r2 = await get(sourceUrl, `Sitecast-Grant ${expired}`);
  expect(r2.status).toBe(401);
  expect(await r2.text()).toMatch(/expired/);
  expect((await get(sourceUrl)).status).toBe(401);
  expect((await get(siteUrl)).status).toBe(401);
  // A grant is good for reading chunks only: not for the rest of /dp/v1.
  const good = issueReadGrant(sourceSecret, { dp: 'DP09', pkg: P, exp: exp() });
  expect((await get(sourceUrl, `Sitecast-Grant ${good}`)).status).toBe(200);
  const other = await fetch(`${sourceUrl}/dp/v1/packages/${P}`, {
    headers: { authorization: `Sitecast-Grant ${good}` },
  });
  expect(other.status).toBe(401);
  const forSite = issueReadGrant(sourceSecret, { dp: 'DP09', pkg: P, exp: exp() });
  expect((await get(siteUrl, `Sitecast-Grant ${forSite}`)).status).toBe(401);
});

it('fails a pull whose every source lies, keeping the version it serves and storing nothing', async () => {
  const v3 = buildVersion(P, 3, [{ path: 'c.bin', bytes: randomFile(3 * 4096) }]);
  const adapter = toPuller();
  await adapter.pull(P, request(v3, [{ name: 'liar', url: liarUrl, rank: 1, grant: 'v1.x.y' }]));
  const s = await until(adapter, (x) => x.pull?.state === 'failed' || x.pull?.state === 'done');
  expect(s.pull?.state).toBe('failed');
  expect(s.pull?.error?.message).toMatch(
    /no pull source could supply it \(liar: sent 4096 bytes that do not hash/,
  );
  expect(s.version).toBe(2);
  expect(s.pending.chunks).toBe(0);
  expect(await treeDigests(join(base, 'pull', P))).toEqual(digests(v2.files));
});

it('paces a pull to the DP rate limit, and waits (saying until when) while its window is closed', async () => {
  const Q = 'PS100002';
  const big = buildVersion(Q, 1, [{ path: 'q.bin', bytes: randomFile(50 * 4096) }]);
  for (const [id, bytes] of big.chunks) library.set(id, bytes);
  const adapter = toPuller();
  const siteGrant = issueReadGrant(pullSecret, { dp: 'DP09', pkg: Q, exp: exp() });
  const sources = [{ name: 'site', url: siteUrl, rank: 1, grant: siteGrant }];
  const pullRequest = (extra: Partial<PullRequest>): PullRequest => ({
    ...request(big, sources, extra),
  });
  // Closed for every priority all week: nothing is fetched, the pull says it waits (and never opens).
  await adapter.pull(Q, pullRequest({ availability: '3'.repeat(168) }));
  const waiting = await until(adapter, (x) => x.pull?.state === 'waiting', Q);
  expect(waiting.pull).toMatchObject({ state: 'waiting', waitingUntil: null, chunksDone: 0 });
  await adapter.discardPending(Q); // stops it
  expect((await adapter.status(Q)).pull).toBeNull();

  // 200 KiB at 100 KB/s: at least ~1.8 s (one 25 KB burst allowed), whatever the machine.
  const started = Date.now();
  await adapter.pull(Q, pullRequest({ rateLimit: '100KB/s' }));
  const midway = await until(adapter, (x) => Date.now() - started > 800 || x.pull?.state === 'done', Q);
  expect(midway.pull?.bytesDone ?? 0).toBeLessThan(50 * 4096);
  const done = await until(adapter, (x) => x.pull?.state === 'done' || x.pull?.state === 'failed', Q);
  expect(done.pull?.state).toBe('done');
  expect(Date.now() - started).toBeGreaterThan(1700);
  expect(done.version).toBe(1);
});
