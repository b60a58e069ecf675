/** In-process sites on loopback for hierarchy tests: each its own database, library, HTTP server and worker. */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { createTestSite, type TestSite } from '../../test/support/site-fixture.js';
import { PackageType } from '../catalog/index.js';
import { DpState, type DistPointStatus } from '../distribution/index.js';
import type { JobWorker } from '../jobs/index.js';
import { attachHierarchy, startHierarchy, type HierarchyRunner } from './hierarchy-wiring.js';
import type { SiteRole } from './site.repository.js';

export const JOIN_SECRET = 'join-secret-of-the-test-hierarchy';

export interface SiteNode {
  readonly t: TestSite;
  readonly code: string;
  readonly log: string[];
  url: string;
  /** Starts (again) the HTTP server on the same port, the worker and the hierarchy runner. */
  up(): Promise<void>;
  /** Stops all three: the site is unreachable and does no work (its database stays). */
  down(): Promise<void>;
  report(): Promise<void>;
  close(): Promise<void>;
}

export async function startNode(
  code: string,
  role: SiteRole,
  parent?: SiteNode,
  options: { dps?: number } = {},
): Promise<SiteNode> {
  const log: string[] = [];
  const t = await createTestSite('sqlite', { siteCode: code, log: (l) => void log.push(l) });
  if (options.dps) await t.addDps(options.dps);
  let app: FastifyInstance | undefined;
  let worker: JobWorker | undefined;
  let runner: HierarchyRunner | undefined;
  let port = 0;
  const node: SiteNode = {
    t,
    code,
    log,
    url: '',
    up: async () => {
      app = Fastify({ logger: false, forceCloseConnections: true });
      await attachHierarchy(app, t.site);
      await app.listen({ host: '127.0.0.1', port });
      const address = app.server.address();
      port = typeof address === 'object' && address ? address.port : port;
      node.url = `http://127.0.0.1:${port}`;
      worker = t.site.createWorker({ pollMs: 25, leaseMs: 10_000, log: (l) => void log.push(l) });
      worker.start();
      runner = await startHierarchy(t.site, {
        siteCode: code,
        role,
        joinSecret: JOIN_SECRET,
        publicUrl: node.url,
        reportIntervalMs: 100,
        ...(parent && { parentUrl: parent.url }),
      });
    },
    down: async () => {
      await runner?.stop();
      await worker?.stop();
      await app?.close();
      runner = undefined;
      worker = undefined;
      app = undefined;
    },
    report: async () => {
      await runner?.reportNow();
    },
    close: async () => {
      await node.down();
      await t.close();
    },
  };
  await node.up();
  return node;
}

/** Writes `size` random bytes to `path`. */
export function writeRandom(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, randomBytes(size));
  } finally {
    closeSync(fd);
  }
}

/** Overwrites `bytes` at `offset`: a small change of a big file. */
export function changeAt(path: string, offset: number, bytes: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, randomBytes(bytes), 0, bytes, offset);
  } finally {
    closeSync(fd);
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every DP of the branch rooted at `top` reports `version` INSTALLED, as `top` sees it. */
export async function installedEverywhere(
  top: SiteNode,
  packageId: string,
  dps: number,
  version: number,
): Promise<DistPointStatus[]> {
  return waitFor(`${dps} DPs at SourceVersion ${version}`, async () => {
    const rows = await top.t.site.status.hierarchyDpStatus(packageId);
    return rows.length === dps &&
      rows.every((r) => r.State === DpState.INSTALLED && r.SourceVersion === version)
      ? rows
      : undefined;
  });
}

/** A CAS and a primary P01 with one DP, sharing one package (a `size`-byte random file) installed at v1. */
export async function casWithOnePrimary(
  size: number,
): Promise<{ cas: SiteNode; p01: SiteNode; source: string; packageId: string }> {
  const cas = await startNode('CAS', 'cas');
  const p01 = await startNode('P01', 'primary', cas, { dps: 1 });
  const dir = join(cas.t.dir, 'src');
  mkdirSync(dir);
  const source = join(dir, 'install.wim');
  writeRandom(source, size);
  const { packageId } = await cas.t.site.packages.create(PackageType.SMS_Package, {
    Name: 'Image',
    PkgSourcePath: dir,
  });
  await cas.t.site.distribution.refreshPkgSource(packageId);
  await waitFor('metadata at P01', () => p01.t.site.packages.find(packageId));
  await p01.t.site.distribution.addDistributionPoints(packageId, ['DP01']);
  await installedEverywhere(cas, packageId, 1, 1);
  return { cas, p01, source, packageId };
}
