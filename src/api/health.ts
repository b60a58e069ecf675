/**
 * GET /healthz (no authentication: load balancers and orchestrators call it): 200 `{status: 'ok'}` when
 * the database answers and the content library's folder is there and writable, 503 naming what is not.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ApiSite } from './api-site.js';

export interface HealthReport {
  readonly status: 'ok' | 'error';
  readonly checks: Readonly<Record<'database' | 'contentLibrary', string>>;
}

export async function checkHealth(site: ApiSite): Promise<HealthReport> {
  const database = await probe(() => sql`select 1`.execute(site.database.db));
  const contentLibrary = await probe(() => access(site.library.packsDir, constants.R_OK | constants.W_OK));
  const ok = database === 'ok' && contentLibrary === 'ok';
  return { status: ok ? 'ok' : 'error', checks: { database, contentLibrary } };
}

async function probe(check: () => Promise<unknown>): Promise<string> {
  try {
    await check();
    return 'ok';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export function installHealth(app: FastifyInstance, site: ApiSite): void {
  app.get('/healthz', async (_request, reply) => {
    const report = await checkHealth(site);
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });
}
