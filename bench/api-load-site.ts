/**
 * The site api-load measures: one image package (a real WIM, snapshotted by the real refresh job) targeted
 * to many local-folder DPs in realistic mixed states, and a read-only API token.
 *
 * DPs are added through DpRegistry.addLocal (folder prepared and probed, as `sitecast dp add` does). The
 * package × DP rows go through PackageDpRepository in one transaction rather than
 * DistributionService.addDistributionPoints: the service would queue 5,000 transfer jobs that the server's
 * worker would then run during the measurement, and the states wanted here (installed, retrying, failed)
 * are what those jobs would leave behind, not what the service writes.
 */
import { join } from 'node:path';
import { sql } from 'kysely';
import { openSite, type SiteHandle } from '../src/app/site.js';
import { Roles } from '../src/auth/index.js';
import { PackageType } from '../src/catalog/index.js';
import { loadSettings } from '../src/config/index.js';
import { DpState, DpTargetStatus, PackageDpRepository, type PackageDp } from '../src/distribution/index.js';
import { makeWim } from '../test/support/make-wim.js';

export interface LoadSite {
  readonly site: SiteHandle;
  readonly home: string;
  /** SQLite file or postgres:// URL, for the server process. */
  readonly db: string;
  readonly packageId: string;
  readonly token: string;
  readonly dpCount: number;
  /** How many package × DP rows are in each state. */
  readonly states: ReadonlyMap<string, number>;
  readonly setupMs: { readonly dps: number; readonly targets: number };
}

export const siteCode = 'PS1';

/** DP0001 … DP5000. */
export const dpName = (i: number): string => `DP${String(i).padStart(4, '0')}`;

/** Per 100 DPs: 90 installed, 4 transferring, 3 retrying, 2 failed, 1 pending. */
function stateOf(i: number): number {
  const r = i % 100;
  if (r < 90) return DpState.INSTALLED;
  if (r < 94) return DpState.CONTENT_UPDATING;
  if (r < 97) return DpState.INSTALL_RETRYING;
  if (r < 99) return DpState.INSTALL_FAILED;
  return DpState.INSTALL_PENDING;
}

export async function buildLoadSite(
  workDir: string,
  db: string | undefined,
  dpCount: number,
  log: (line: string) => void,
): Promise<LoadSite> {
  const home = join(workDir, 'site-home');
  const settings = loadSettings({ home, siteCode, ...(db !== undefined && { db }) }, {});
  const site = await openSite(settings);
  try {
    const wim = makeWim(join(workDir, 'source', 'install.wim'), [{ name: 'Windows 11 Enterprise' }]);
    const pkg = await site.packages.create(PackageType.SMS_ImagePackage, {
      Name: 'Windows 11 23H2 (api-load)',
      PkgSourcePath: wim,
    });
    await site.distribution.refreshPkgSource(pkg.packageId);
    await site.createWorker({ pollMs: 20 }).runUntilIdle();
    const v1 = await site.packages.get(pkg.packageId);
    if (v1.sourceVersion !== 1)
      throw new Error(`the refresh left ${pkg.packageId} at version ${v1.sourceVersion}`);

    log(`adding ${dpCount} local-folder DPs`);
    let t = performance.now();
    const dpIds: number[] = [];
    for (let i = 1; i <= dpCount; i++) {
      const dp = await site.dps.addLocal({ name: dpName(i), root: join(workDir, 'dps', dpName(i)) });
      dpIds.push(dp.dpId);
    }
    const dpsMs = performance.now() - t;

    log(`targeting ${pkg.packageId} to ${dpCount} DPs`);
    t = performance.now();
    const targets = new PackageDpRepository(site.database.db);
    const states = new Map<string, number>();
    const now = Date.now();
    const sizeBytes = v1.packageSizeKb * 1024;
    await site.database.db.transaction().execute(async (trx) => {
      for (const [i, dpId] of dpIds.entries()) {
        const state = stateOf(i);
        const name = Object.entries(DpState).find(([, c]) => c === state)![0];
        states.set(name, (states.get(name) ?? 0) + 1);
        await targets.insertIfAbsent(rowFor(pkg.packageId, dpId, state, sizeBytes, now - i * 1000), now, trx);
      }
    });
    const targetsMs = performance.now() - t;
    // PostgreSQL's autovacuum analyzes a table that grew this much within a minute or so; until then its
    // planner takes package_dp for nearly empty. The bench does not wait: it analyzes now.
    if (site.database.capabilities.name === 'postgres') await sql`analyze`.execute(site.database.db);

    const { token } = await site.tokens.create({ name: 'api-load', role: Roles.ReadOnlyAnalyst });
    return {
      site,
      home,
      db: settings.db,
      packageId: pkg.packageId,
      token,
      dpCount,
      states,
      setupMs: { dps: dpsMs, targets: targetsMs },
    };
  } catch (e) {
    await site.close();
    throw e;
  }
}

function rowFor(
  packageId: string,
  dpId: number,
  state: number,
  size: number,
  copiedAt: number,
): Omit<PackageDp, 'updatedAt' | 'waitReason' | 'resumeAt'> {
  const installed = state === DpState.INSTALLED;
  const done = installed ? size : state === DpState.CONTENT_UPDATING ? Math.floor(size / 3) : 0;
  return {
    packageId,
    dpId,
    state,
    status: installed ? DpTargetStatus.Updated : DpTargetStatus.Added,
    targetVersion: 1,
    installedVersion: installed ? 1 : 0,
    bytesTotal: size,
    bytesDone: done,
    bytesSent: done,
    rate: installed ? 12_500_000 : 0,
    attempts: state === DpState.INSTALL_RETRYING ? 2 : state === DpState.INSTALL_FAILED ? 5 : 1,
    lastError:
      state === DpState.INSTALL_RETRYING || state === DpState.INSTALL_FAILED
        ? 'DP_UNAVAILABLE: connect ETIMEDOUT (the DP did not answer within 30 s)'
        : null,
    lastCopied: installed ? copiedAt : null,
  };
}
