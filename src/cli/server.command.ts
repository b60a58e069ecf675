import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createApiServer, listenApi } from '../api/index.js';
import { attachHierarchy, startHierarchy, type SiteRole } from '../hierarchy/index.js';
import type { ProgressEvent } from '../kernel/index.js';
import type { CliContext } from './cli-context.js';
import { intArg, type Act } from './command-kit.js';
import { formatBytes, formatPercent, timestamp } from './units.js';

interface ServerOptions {
  readonly progressEvery: number;
  readonly port: number;
  readonly host: string;
  readonly role: SiteRole;
  readonly parent?: string;
  readonly joinSecret?: string;
  readonly publicUrl?: string;
}

/**
 * `server`: the distribution-manager process. Runs this site's job worker until SIGINT/SIGTERM, then stops
 * gracefully (running jobs are handed back to the queue, not lost), logging timestamped lines.
 */
export function registerServerCommand(program: Command, act: Act): void {
  program
    .command('server')
    .description(
      "run this site's distribution manager (job worker) and AdminService REST API until SIGINT/SIGTERM",
    )
    .option(
      '--progress-every <seconds>',
      'log transfer progress at most this often per transfer',
      intArg('--progress-every', 1, 3600),
      5,
    )
    .option(
      '--port <n>',
      'TCP port of the AdminService REST API (0 = any free port)',
      intArg('--port', 0, 65535),
      8080,
    )
    .option('--host <address>', 'address the REST API listens on (0.0.0.0 = every interface)', '127.0.0.1')
    .option('--role <cas|primary|secondary>', "this site's place in the hierarchy", siteRole, 'primary')
    .option('--parent <url>', "the parent site's URL: join it and receive its packages (a child site)")
    .option(
      '--join-secret <secret>',
      'the hierarchy join secret: presented to --parent, and required from child sites joining this one (or $SITECAST_JOIN_SECRET)',
    )
    .option('--public-url <url>', 'where the parent reaches this site (default the URL it listens on)')
    .action(act(async (ctx, o: ServerOptions) => runServer(ctx, o)));
}

async function runServer(ctx: CliContext, o: ServerOptions): Promise<number> {
  const out = (line: string): void => {
    ctx.io.stdout.write(`${timestamp()} ${line}\n`);
  };
  const stopLogs = ctx.onLog(out);
  const stopProgress = ctx.onProgress(progressLogger(out, o.progressEvery * 1000));
  try {
    const settings = ctx.settings();
    const site = await ctx.localSite();
    const worker = site.createWorker({ log: out });
    out(
      `sitecast server: site ${site.siteCode}, database ${redact(settings.db)}, content library under ${settings.home}`,
    );
    out(
      `distribution manager running as ${worker.owner} (pid ${process.pid}, job lease ${settings.leaseMs / 1000} s); SIGINT or SIGTERM stops it`,
    );
    const joinSecret = o.joinSecret ?? ctx.io.env.SITECAST_JOIN_SECRET;
    const api = await createApiServer(site, {
      log: out,
      readCacheBytes: settings.apiReadCacheMb * 1024 * 1024,
      extend: (app) => attachHierarchy(app, site),
    });
    const url = await listenApi(api, { port: o.port, host: o.host }).catch(async (e: unknown) => {
      await api.close();
      throw e;
    });
    out(`AdminService REST API at ${url}/AdminService/wmi/ (health ${url}/healthz, metrics ${url}/metrics)`);
    const hierarchy = await startHierarchy(site, {
      siteCode: site.siteCode,
      role: o.role,
      publicUrl: o.publicUrl ?? url,
      log: out,
      ...(o.parent !== undefined && { parentUrl: o.parent }),
      ...(joinSecret !== undefined && { joinSecret }),
    }).catch(async (e: unknown) => {
      await api.close();
      throw e;
    });
    out(
      `site role ${o.role}${o.parent ? `, child of ${o.parent}` : ''}${joinSecret ? '; child sites may join with the join secret' : ''}`,
    );
    const scheduler = site.createScheduler({ log: out });
    const health = site.createHealthMonitor({ log: out });
    worker.start();
    scheduler.start();
    health.start();
    out('scheduler running: refresh schedules and content validation schedules are looked at every 30 s');
    out(`DP health monitor running: every DP is probed every ${health.intervalMs / 1000} s`);
    await untilAborted(ctx.io.shutdown);
    out('stopping: running jobs go back to the queue');
    await health.stop();
    await scheduler.stop();
    await hierarchy.stop();
    await api.close();
    await worker.stop();
    out('stopped');
    return 0;
  } finally {
    stopProgress();
    stopLogs();
  }
}

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  // Without a shutdown signal (an embedding that never stops) the server runs until the process ends.
  if (!signal) return new Promise<void>(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** A line per transfer or snapshot at most every `everyMs`, and always its last one. */
function progressLogger(out: (line: string) => void, everyMs: number): (e: ProgressEvent) => void {
  const last = new Map<string, number>();
  return (e) => {
    const key = `${e.operation}:${e.packageId ?? ''}:${e.target ?? ''}`;
    const now = Date.now();
    const finished = e.bytesTotal > 0 && e.bytesDone >= e.bytesTotal;
    if (!finished && now - (last.get(key) ?? 0) < everyMs) return;
    last.set(key, now);
    const what = e.target
      ? `${e.operation} ${e.packageId ?? ''} → ${e.target}`
      : `${e.operation} ${e.packageId ?? ''}`;
    out(
      `${what}: ${formatBytes(e.bytesDone)} / ${formatBytes(e.bytesTotal)} (${formatPercent(e.bytesDone, e.bytesTotal)})`,
    );
  };
}

/** A postgres:// URL may carry a password: never log it. */
function redact(db: string): string {
  return db.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

function siteRole(value: string): SiteRole {
  if (value === 'cas' || value === 'primary' || value === 'secondary') return value;
  throw new InvalidArgumentError('--role must be cas, primary or secondary');
}
