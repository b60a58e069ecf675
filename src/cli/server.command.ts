import type { Command } from 'commander';
import type { ProgressEvent } from '../kernel/index.js';
import type { CliContext } from './cli-context.js';
import { intArg, type Act } from './command-kit.js';
import { formatBytes, formatPercent, timestamp } from './units.js';

interface ServerOptions {
  readonly progressEvery: number;
}

/**
 * `server`: the distribution-manager process. Runs this site's job worker until SIGINT/SIGTERM, then stops
 * gracefully (running jobs are handed back to the queue, not lost), logging timestamped lines.
 */
export function registerServerCommand(program: Command, act: Act): void {
  program
    .command('server')
    .description("run this site's distribution manager (job worker) until SIGINT/SIGTERM")
    .option(
      '--progress-every <seconds>',
      'log transfer progress at most this often per transfer',
      intArg('--progress-every', 1, 3600),
      5,
    )
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
    const site = await ctx.site();
    const worker = site.createWorker({ log: out });
    out(
      `sitecast server: site ${site.siteCode}, database ${redact(settings.db)}, content library under ${settings.home}`,
    );
    out(
      `distribution manager running as ${worker.owner} (pid ${process.pid}, job lease ${settings.leaseMs / 1000} s); SIGINT or SIGTERM stops it`,
    );
    worker.start();
    await untilAborted(ctx.io.shutdown);
    out('stopping: running jobs go back to the queue');
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
