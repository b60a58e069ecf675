/**
 * The demo's child site: a secondary site S01 under the demo's primary PS1, each with its own database,
 * content library and `/site/v1` endpoint on loopback, joined with a join secret. S01 has its own DP
 * (BR01); content reaches it as a delta from PS1, and S01 distributes it with its own jobs.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CliContext } from '../cli/index.js';
import type { Settings } from '../config/index.js';
import { DpState } from '../distribution/index.js';
import { attachHierarchy, startHierarchy, type HierarchyRunner } from '../hierarchy/index.js';
import type { JobWorker } from '../jobs/index.js';
import { SitecastError } from '../kernel/index.js';
import type { SiteHandle } from './site.js';

export const childSiteCode = 'S01';
export const childDpName = 'BR01';

export interface DemoHierarchy {
  readonly child: SiteHandle;
  readonly childDpRoot: string;
  /** Waits until BR01 serves `version` of the package (the child's worker does the work). */
  waitForChildDp(packageId: string, version: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function listen(site: SiteHandle): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await attachHierarchy(app, site);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, url: `http://127.0.0.1:${port}` };
}

/** Starts PS1's site endpoint, opens and joins S01, adds BR01 and targets the package there. */
export async function startDemoHierarchy(
  ctx: CliContext,
  parent: SiteHandle,
  parentSettings: Settings,
  dir: string,
  packageId: string,
  log: (line: string) => void,
): Promise<DemoHierarchy> {
  const joinSecret = randomBytes(24).toString('base64url');
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const top = await listen(parent);
    closers.push(() => top.app.close());
    const parentRunner = await startHierarchy(parent, {
      siteCode: parent.siteCode,
      role: 'primary',
      joinSecret,
      publicUrl: top.url,
      log,
      reportIntervalMs: 200,
    });
    closers.push(() => parentRunner.stop());
    // PS1's replicate jobs run here (between the demo's --wait phases nothing else works for PS1).
    const parentWorker: JobWorker = parent.createWorker({ pollMs: 100, log });
    parentWorker.start();
    closers.push(() => parentWorker.stop());

    const home = join(dir, childSiteCode);
    const child = await ctx.openSite({
      ...parentSettings,
      home,
      db: join(home, 'site.db'),
      siteCode: childSiteCode,
    });
    closers.push(() => child.close());
    const bottom = await listen(child);
    closers.push(() => bottom.app.close());
    const worker: JobWorker = child.createWorker({ pollMs: 100, log });
    worker.start();
    closers.push(() => worker.stop());
    const childRunner: HierarchyRunner = await startHierarchy(child, {
      siteCode: childSiteCode,
      role: 'secondary',
      parentUrl: top.url,
      joinSecret,
      publicUrl: bottom.url,
      log,
      reportIntervalMs: 200,
    });
    closers.unshift(() => childRunner.stop());

    const childDpRoot = join(home, 'dps', childDpName);
    await child.dps.addLocal({ name: childDpName, root: childDpRoot });
    // The package's metadata reaches S01 when it joins; then BR01 can be targeted there.
    await until(
      async () => (await child.packages.find(packageId)) !== undefined,
      30_000,
      () => `package ${packageId} did not reach site ${childSiteCode}`,
    );
    await child.distribution.addDistributionPoints(packageId, [childDpName]);
    await childRunner.reportNow();

    return {
      child,
      childDpRoot,
      waitForChildDp: async (pkg, version, timeoutMs = 60_000) => {
        await until(
          async () => {
            const [row] = await child.status.distPointStatus(pkg);
            return row?.State === DpState.INSTALLED && row.SourceVersion >= version;
          },
          timeoutMs,
          () => `${childDpName} at site ${childSiteCode} did not reach SourceVersion ${version} of ${pkg}`,
        );
        await childRunner.reportNow();
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new SitecastError('FAILED', `demo: ${what()} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
