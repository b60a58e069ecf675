/**
 * How a `sitecast server` takes part in a hierarchy: `attachHierarchy` mounts `/site/v1` on its HTTP
 * server; `startHierarchy` sets the site's role, joins the parent (retrying while it is unreachable) and
 * sends the branch's status up periodically and whenever it changed.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SitecastError } from '../kernel/index.js';
import { siteRoutes, type HierarchySite } from './site-routes.js';
import { SITE_API_PREFIX } from './site-wire.js';
import type { SiteRole } from './site.repository.js';

/** Mounts `/site/v1` on `app`; call before `app.ready()`/`listen()`. */
export async function attachHierarchy(app: FastifyInstance, site: HierarchySite): Promise<void> {
  await app.register(siteRoutes, { prefix: SITE_API_PREFIX, site });
}

export interface StartHierarchyOptions {
  /** The parent's base URL; none for a CAS or a stand-alone primary. */
  readonly parentUrl?: string;
  /**
   * The hierarchy's join secret: presented to the parent when joining, and required from children
   * joining this site (a site started without one accepts no children).
   */
  readonly joinSecret?: string;
  readonly siteCode: string;
  readonly role: SiteRole;
  /** Where the parent reaches this site's `/site/v1` (this server's base URL). */
  readonly publicUrl: string;
  readonly log?: (line: string) => void;
  /** How often the branch status is looked at (sent when it changed); default 5 s. */
  readonly reportIntervalMs?: number;
  /** A report is sent at least this often even unchanged (it is the child's heartbeat); default 60 s. */
  readonly heartbeatMs?: number;
}

export interface HierarchyRunner {
  /** Builds and sends the branch status now (also joins first if not joined yet). */
  reportNow(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHierarchy(
  site: HierarchySite & { readonly siteCode: string },
  o: StartHierarchyOptions,
): Promise<HierarchyRunner> {
  const h = site.hierarchy;
  const log = o.log ?? ((line: string) => h.log(line));
  if (o.siteCode !== site.siteCode) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `site code ${o.siteCode} is not this site's (${site.siteCode})`,
      {
        field: 'siteCode',
      },
    );
  }
  if (o.parentUrl && o.role === 'cas') {
    throw new SitecastError('INVALID_PARAMETER', 'a central administration site has no parent', {
      field: 'parent',
    });
  }
  if (o.parentUrl && !o.joinSecret && !(await h.parent())) {
    throw new SitecastError('INVALID_PARAMETER', `joining ${o.parentUrl} needs the hierarchy's join secret`, {
      field: 'joinSecret',
    });
  }
  if (!o.parentUrl) await h.setRole(o.role, null);
  h.setJoinSecret(o.role === 'secondary' ? undefined : o.joinSecret);

  const interval = o.reportIntervalMs ?? 5_000;
  const heartbeat = o.heartbeatMs ?? 60_000;
  let lastDigest = '';
  let lastSent = 0;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  // Joined once per start: a restarted child may listen on another URL, and a re-join tells the parent
  // (and rotates the link secret). Until it succeeds the stored link keeps working both ways.
  let joinedThisRun = false;
  const joined = async (): Promise<boolean> => {
    if (!o.parentUrl) return false;
    if (joinedThisRun) return true;
    const stored = await h.parent();
    if (!o.joinSecret) {
      joinedThisRun = stored?.url === o.parentUrl;
      return joinedThisRun;
    }
    const link = await h.joinParent({
      parentUrl: o.parentUrl,
      joinSecret: o.joinSecret,
      publicUrl: o.publicUrl,
      role: o.role === 'secondary' ? 'secondary' : 'primary',
    });
    joinedThisRun = true;
    log(`hierarchy: site ${site.siteCode} joined parent ${link.siteCode} at ${link.url} as a ${o.role} site`);
    return true;
  };

  const tick = async (force: boolean): Promise<void> => {
    if (!(await joined())) return;
    const report = await h.buildStatusReport();
    const digest = createHash('sha256').update(JSON.stringify(report)).digest('hex');
    const now = h.clock.now();
    if (!force && digest === lastDigest && now - lastSent < heartbeat) return;
    const queued = await h.reportToParent(report);
    if (failures > 0) log(`hierarchy: parent reachable again after ${failures} failed reports`);
    failures = 0;
    lastDigest = digest;
    lastSent = now;
    if (queued > 0) log(`hierarchy: parent queued ${queued} replications for this site`);
  };

  const run = (force: boolean): Promise<void> => {
    running = running.then(() =>
      tick(force).catch((e: unknown) => {
        failures++;
        // One line per outage, then one every 10 failures: the parent being down is not news each tick.
        if (failures === 1 || failures % 10 === 0)
          log(
            `hierarchy: report to parent failed (${failures}): ${e instanceof Error ? e.message : String(e)}`,
          );
      }),
    );
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void run(false).then(schedule);
    }, interval);
    timer.unref();
  };
  if (o.parentUrl) {
    // The first join and report are awaited (a failure is logged, and retried every interval), so a
    // server that starts reachable is listed by its parent when this returns.
    await run(true);
    schedule();
  }

  return {
    reportNow: () => run(true),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
