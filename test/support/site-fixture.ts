/** An in-process site on a fresh database of either dialect, with local-folder DPs in a temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSite, type SiteHandle } from '../../src/app/site.js';
import { loadSettings } from '../../src/config/index.js';
import type { Clock, ProgressListener } from '../../src/kernel/index.js';
import { createTestDatabase, type DialectName, type TestDatabase } from './databases.js';

export interface TestSite {
  readonly site: SiteHandle;
  readonly dir: string;
  readonly database: TestDatabase;
  /** Adds local-folder DPs named DP01… under dir/dps. */
  addDps(count: number): Promise<string[]>;
  /** Runs queued jobs until none is left (their log lines into `log`, if given). */
  drain(log?: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function createTestSite(
  dialect: DialectName,
  options: {
    siteCode?: string;
    onProgress?: ProgressListener;
    clock?: Clock;
    log?: (line: string) => void;
  } = {},
): Promise<TestSite> {
  const dir = mkdtempSync(join(tmpdir(), 'sitecast-site-'));
  const database = await createTestDatabase(dialect);
  // The fixture's own connection only created the schema; the site opens its own.
  const settings = loadSettings(
    { home: join(dir, 'home'), db: database.url, siteCode: options.siteCode ?? 'PS1' },
    {},
  );
  const site = await openSite(settings, {
    ...(options.onProgress && { onProgress: options.onProgress }),
    ...(options.clock && { clock: options.clock }),
    ...(options.log && { log: options.log }),
  });
  let dpCount = 0;
  return {
    site,
    dir,
    database,
    addDps: async (count) => {
      const names: string[] = [];
      for (let i = 0; i < count; i++) {
        const name = `DP${String(++dpCount).padStart(2, '0')}`;
        await site.dps.addLocal({ name, root: join(dir, 'dps', name) });
        names.push(name);
      }
      return names;
    },
    drain: async (log?: string[]) => {
      const worker = site.createWorker({
        pollMs: 20,
        leaseMs: 10_000,
        ...(log && { log: (l: string) => void log.push(l) }),
      });
      await worker.runUntilIdle();
    },
    close: async () => {
      await site.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function dpRoot(t: TestSite, dpName: string): string {
  return join(t.dir, 'dps', dpName);
}
