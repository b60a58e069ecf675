/**
 * The site as a pull source for tests: the real chunk routes over an in-memory library, granting reads to
 * one pull DP (`dpName`, signed with `pullSecret`), recording what it served.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { systemClock } from '../../kernel/index.js';
import { siteChunkRoutes, siteGrantVerifier } from './index.js';

export async function siteSource(
  library: ReadonlyMap<string, Buffer>,
  pullSecret: string,
  served: string[],
  dpName = 'DP09',
): Promise<FastifyInstance> {
  const site = Fastify();
  await site.register(siteChunkRoutes, {
    getChunk: (id) => Promise.resolve(library.get(id) ?? null),
    verifyGrant: siteGrantVerifier({
      secretOf: (name) => Promise.resolve(name === dpName ? pullSecret : null),
      clock: systemClock,
    }),
    onServed: (_grant, id) => served.push(id),
  });
  return site;
}
