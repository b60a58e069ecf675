/** Running an in-process site's jobs until one package × DP row settles, for multi-process DP tests. */
import { DpState, type DistPointStatus } from '../../src/distribution/index.js';
import { pollUntil } from './agent-process.js';
import type { TestSite } from './site-fixture.js';

export async function rowOf(t: TestSite, packageId: string, dp: string): Promise<DistPointStatus> {
  const row = (await t.site.status.distPointStatus(packageId)).find((r) => r.ServerName === dp);
  if (!row) throw new Error(`${packageId} is not targeted to ${dp}`);
  return row;
}

/**
 * Runs the site's jobs in the background (retries after backoff included) until `until(row)` holds for
 * the DP's row (default: installed at `version`, or failed), then stops the worker and returns the row.
 * On a timeout the error carries the worker's log.
 */
export async function settle(
  t: TestSite,
  packageId: string,
  dp: string,
  version: number,
  options: { log?: string[]; timeoutMs?: number; until?: (row: DistPointStatus) => boolean } = {},
): Promise<DistPointStatus> {
  const log = options.log ?? [];
  const until =
    options.until ??
    ((row: DistPointStatus) =>
      (row.State === DpState.INSTALLED && row.SourceVersion === version) ||
      row.State === DpState.INSTALL_FAILED);
  const worker = t.site.createWorker({ pollMs: 50, leaseMs: 10_000, log: (l) => void log.push(l) });
  worker.start();
  try {
    return await pollUntil(
      `${dp} to settle`,
      async () => {
        const row = await rowOf(t, packageId, dp);
        return until(row) ? row : undefined;
      },
      options.timeoutMs ?? 40_000,
      100,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${log.join('\n')}`, { cause: e });
  } finally {
    await worker.stop();
  }
}
