import { setTimeout as delay } from 'node:timers/promises';
import type { ContentExtraInfo, DistPointStatus } from '../distribution/index.js';
import { DpState, JobKind } from '../distribution/index.js';
import type { Job } from '../jobs/index.js';
import { ErrorCatalog, isSitecastError, toHex, type ErrorCode } from '../kernel/index.js';
import type { CliContext } from './cli-context.js';
import { renderDpTable } from './dp-status-table.js';
import { ProgressTracker } from './progress-tracker.js';
import { createProgressView } from './progress-view.js';

export interface WaitRequest {
  readonly packageId: string;
  /** DP names to follow; every DP the package is targeted to when absent. */
  readonly dps?: readonly string[];
  /** Run a worker in this process (default), or only watch while a `sitecast server` works. */
  readonly work: boolean;
  /** Epoch ms when the command started: jobs that ended before it are not its jobs. */
  readonly since: number;
  /** How often the queue and the status rows are read. */
  readonly pollMs?: number;
}

export interface WaitOutcome {
  readonly packageId: string;
  /** Final rows of the followed DPs (empty once the package is gone). */
  readonly rows: readonly DistPointStatus[];
  /** The package's jobs that failed for good during the wait. */
  readonly failed: readonly Job[];
  /** The wait was stopped (SIGINT/SIGTERM) before the work ended. */
  readonly interrupted: boolean;
}

/**
 * Waits until the package has no queued or running job (the jobs the command queued, and the transfers
 * they queued in turn), drawing the snapshot and per-DP progress. With `work`, a job worker runs in this
 * process meanwhile and is stopped gracefully afterwards.
 */
/** Queued jobs due later than this are waiting (a closed window), not work this wait should sit through. */
const deferredAfterMs = 60_000;

export async function waitForPackage(ctx: CliContext, req: WaitRequest): Promise<WaitOutcome> {
  const site = await ctx.site();
  const follow = req.dps ? new Set(req.dps.map((d) => d.toLowerCase())) : undefined;
  const tracker = new ProgressTracker(req.packageId);
  const unsubscribe = ctx.onProgress((e) => tracker.onEvent(e));
  const view = ctx.json ? undefined : createProgressView(ctx.io.stdout);
  // Against a remote site (--server) the server works; this process only watches.
  const worker =
    req.work && ctx.server === undefined
      ? (await ctx.localSite()).createWorker({ pollMs: 250, log: ctx.workerLog })
      : undefined;
  const signal = ctx.io.shutdown;
  worker?.start();
  let rows: DistPointStatus[];
  let jobs: Job[];
  let interrupted = false;
  try {
    for (;;) {
      jobs = await site.queue.list({ packageId: req.packageId });
      rows = (await dpRows(ctx, req.packageId)).filter(
        (r) => !follow || follow.has(r.ServerName.toLowerCase()),
      );
      const refreshing = jobs.some(
        (j) => j.kind === JobKind.Refresh && (j.state === 'queued' || j.state === 'running'),
      );
      view?.update(tracker.bars(rows, { refreshing }));
      // Work deferred past a closed availability window or maintenance mode (or a long backoff) does not
      // hold the wait: the rows say who waits and until when, and the server sends it then.
      const soon = Date.now() + deferredAfterMs;
      if (!jobs.some((j) => j.state === 'running' || (j.state === 'queued' && j.runAt <= soon))) break;
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      await delay(req.pollMs ?? 200, undefined, signal ? { signal } : {}).catch(() => undefined);
    }
  } finally {
    unsubscribe();
    try {
      await worker?.stop();
    } finally {
      view?.stop();
    }
  }
  const failed = jobs.filter((j) => j.state === 'failed' && j.updatedAt >= req.since);
  return { packageId: req.packageId, rows, failed, interrupted };
}

async function dpRows(ctx: CliContext, packageId: string): Promise<DistPointStatus[]> {
  const site = await ctx.site();
  try {
    return await site.status.distPointStatus(packageId);
  } catch (e) {
    // The package may be gone: a delete --wait ends that way.
    if (isSitecastError(e, 'NOT_FOUND')) return [];
    throw e;
  }
}

/** A job's lastError reads `CODE: message` (see the job worker); the code gives the exit code. */
export function failureOfJob(job: Job): { code: ErrorCode; message: string } {
  const text = job.lastError ?? `${job.kind} job #${job.id} failed`;
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(text);
  if (m && m[1]! in ErrorCatalog) return { code: m[1] as ErrorCode, message: m[2]! };
  return { code: 'FAILED', message: text };
}

const exitInterrupted = 130;

/**
 * Prints how a wait ended — the final per-DP table, or with --json the package summary and rows — and
 * returns the exit code: 0, the code of the first job that failed for good, 7 when a DP ended
 * INSTALL_FAILED, 130 when interrupted.
 */
export async function reportWait(
  ctx: CliContext,
  outcome: WaitOutcome,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const site = await ctx.site();
  let info: ContentExtraInfo | undefined;
  try {
    info = await site.status.contentExtraInfo(outcome.packageId);
  } catch (e) {
    if (!isSitecastError(e, 'NOT_FOUND')) throw e;
  }
  const failedJobs = outcome.failed.map((job) => ({ job, ...failureOfJob(job) }));
  const failedRows = outcome.rows.filter(
    (r) => r.State === DpState.INSTALL_FAILED || r.State === DpState.REMOVAL_FAILED,
  );
  const code: ErrorCode | undefined =
    failedJobs[0]?.code ??
    (failedRows.length > 0 ? (codeOfDpError(failedRows[0]!.LastError) ?? 'DP_UNAVAILABLE') : undefined);
  const exitCode = outcome.interrupted ? exitInterrupted : code ? ErrorCatalog[code].exit : 0;
  // Transfer failures are told by their DP's row; other jobs (refresh, verify, remove) by the job.
  const messages = [
    ...failedJobs
      .filter((f) => f.job.kind !== 'transfer' || failedRows.length === 0)
      .map((f) => `error ${toHex(ErrorCatalog[f.code].wbem)} ${f.code}: ${f.message}`),
    ...failedRows.map(
      (r) => `error: ${r.ServerName} ended ${r.StateName}: ${r.LastError ?? 'no reason recorded'}`,
    ),
  ];
  if (ctx.json) {
    ctx.printJson({
      ReturnValue: code ? ErrorCatalog[code].wbem : 0,
      PackageID: outcome.packageId,
      ...extra,
      ...(info && { SMS_ObjectContentExtraInfo: info }),
      SMS_PackageStatusDistPointsSummarizer: outcome.rows,
      ...(messages.length > 0 && { Errors: messages }),
    });
  } else {
    if (outcome.rows.length > 0) ctx.print(`\n${renderDpTable(outcome.rows)}`);
    if (info) {
      ctx.print(
        `${outcome.packageId}: SourceVersion ${info.SourceVersion}, ${info.NumberSuccess} of ${info.Targeted} DP(s) installed, ` +
          `${info.NumberInProgress} in progress, ${info.NumberErrors} failed`,
      );
    }
    for (const r of outcome.rows) {
      if (r.WaitReason && r.State !== DpState.INSTALLED && !r.WaitReason.startsWith('rate limit'))
        ctx.print(`${r.ServerName} waits: ${r.WaitReason} (the server sends it then; no need to wait here)`);
    }
  }
  for (const m of messages) ctx.warn(m);
  if (outcome.interrupted) {
    ctx.warn(
      'interrupted: the queued work stays queued; `sitecast server` (or another --wait) will finish it',
    );
  }
  return exitCode;
}

/** A DP row's lastError starts with the error's hex code when it came from a SitecastError. */
function codeOfDpError(lastError: string | null): ErrorCode | undefined {
  const m = /^(0x[0-9A-F]{8}) /i.exec(lastError ?? '');
  if (!m) return undefined;
  const wbem = Number(m[1]);
  return (Object.keys(ErrorCatalog) as ErrorCode[]).find((c) => ErrorCatalog[c].wbem === wbem);
}
