import { decodeManifest, manifestStats, type ChunkId, type Manifest } from '../content/index.js';
import type { DpAdapter, DpChunk, DpPackageState } from '../dp/index.js';
import { formatRateLimit, TransferPacer, type RateLimit } from '../bandwidth/index.js';
import type { Job, JobHandler } from '../jobs/index.js';
import { systemTimeZone } from '../schedule/index.js';
import { JobDeferred, willRetry } from '../jobs/index.js';
import { isSitecastError, RateMeter, SitecastError, toSitecastError } from '../kernel/index.js';
import { DpState, DpTargetStatus, MessageId, MessageState, Severity } from './dp-state.js';
import type { DistributionDeps, TransferMode } from './deps.js';
import { defaultBandwidth, type DistributionPoint } from './dp.repository.js';
import { pullTransfer } from './pull-transfer.js';

/** Chunks go to a DP in batches of at most this many bytes (and the DP verifies each one). */
const batchBytes = 8 * 1024 * 1024;
/** Batches on their way to one DP at once when no rate limit paces the transfer. */
const sendDepth = 2;
/** How often progress reaches the database (people watch it; the DB should not drown). */
const progressEveryMs = 1000;
/** Activation may find chunks gone since the missing-chunk query (e.g. a corrupted seed); resend that many times. */
const maxActivationRounds = 3;
/** A DP in maintenance mode is looked at again this often (and at once when the mode is turned off). */
const maintenanceRecheckMs = 15 * 60 * 1000;
/** A window that never opens for the package's priority: looked at again hourly (settings may change). */
const neverOpenRecheckMs = 60 * 60 * 1000;

interface TransferPayload {
  readonly dpId: number;
  readonly mode: TransferMode;
  /** The DP was not known good when the admin asked (failed validation, cancelled): rebuild if current. */
  readonly repair?: boolean;
}

/**
 * The transfer job for one package × DP: bring the DP to the package's current version, sending only the
 * chunks it lacks (or everything, for Redistribute), then let it verify and activate atomically.
 * Resumable: chunks that landed before a crash are not missing on the re-run, so they are not sent again.
 */
export function transferJobHandler(d: DistributionDeps): JobHandler {
  return async (job: Job, ctx) => {
    const { dpId, mode, repair: repairAsked = false } = job.payload as TransferPayload;
    const packageId = job.packageId!;
    const pkg = await d.packages.find(packageId);
    const row = pkg ? await d.targets.find(packageId, dpId) : undefined;
    if (!pkg || !row || row.status === DpTargetStatus.Deleted) return; // untargeted meanwhile
    if (pkg.sourceVersion === 0) return; // the first refresh will queue this again
    const dp = await d.dps.get(dpId);
    const version = await d.packages.findVersion(packageId, pkg.sourceVersion);
    if (!version)
      throw new SitecastError(
        'FAILED',
        `package ${packageId} has no version row for SourceVersion ${pkg.sourceVersion}`,
      );
    const started = d.clock.now();
    const wait = (until: number | null, reason: string): Promise<never> =>
      deferTransfer(d, packageId, dp, until, reason);
    if (dp.maintenanceMode) {
      await wait(
        started + maintenanceRecheckMs,
        `${dp.name} is in maintenance mode: new content waits until maintenance mode is turned off`,
      );
    }
    const pacer = newPacer(d, dp, pkg.priority);
    const gate = await pacer.beforeSend(0, ctx.signal);
    if (!gate.go) await wait(gate.until, windowReason(dp, pkg.priority, gate.until));
    await d.targets.update(
      packageId,
      dpId,
      {
        targetVersion: version.sourceVersion,
        attempts: job.attempts,
        bytesDone: 0,
        rate: 0,
        waitReason: limitReason(dp),
        resumeAt: null,
      },
      started,
    );
    try {
      const adapter = await d.dps.adapter(dp);
      const manifestBytes = await d.library.manifests.getManifestBytes(version.manifestId);
      const manifest = decodeManifest(manifestBytes, version.manifestId);
      const { uniqueChunks } = manifestStats(manifest);
      const current = await adapter.packageState(packageId);
      const isCurrent = current?.manifestId === version.manifestId;
      // Already current but not known good (a failed validation, a cancel): rebuild it from what the DP
      // has, re-hashing everything, and send only what turns out bad — RefreshNow repairs without a full resend.
      const repair = mode === 'update' && isCurrent && repairAsked;
      let sent = 0;
      if (dp.isPull && (mode === 'redistribute' || !isCurrent || repair)) {
        // The DP fetches the chunks itself from its sources; the site only tells it and follows.
        sent = await pullTransfer({
          d,
          dp,
          adapter,
          packageId,
          version: version.sourceVersion,
          manifestId: version.manifestId,
          manifestBytes,
          mode,
          repair,
          priority: pkg.priority,
          signal: ctx.signal,
          defer: (until) => wait(until, windowReason(dp, pkg.priority, until)),
        });
      } else if (mode === 'redistribute' || !isCurrent || repair) {
        if (mode === 'redistribute') await adapter.discardPending(packageId);
        const ids = [...uniqueChunks.keys()];
        let missing: ChunkId[] =
          mode === 'redistribute'
            ? ids
            : repair
              ? []
              : await adapter.missingChunks(packageId, ids, ctx.signal);
        const base = await manifestDeltaBase(d, adapter, current, version.manifestId);
        // Announced first, the DP writes each chunk straight into the new tree (once, hashed once).
        if (missing.length > 0 && adapter.prepare) {
          await adapter.prepare(packageId, version.sourceVersion, version.manifestId, manifestBytes, {
            ...(base ? { base } : {}),
            signal: ctx.signal,
          });
        }
        const progress = new ProgressReporter(d, packageId, dp, sumSizes(missing, uniqueChunks));
        await progress.flush();
        for (let round = 1; ; round++) {
          const r = await sendChunks(d, adapter, packageId, missing, ctx.signal, progress, pacer);
          sent += r.sent;
          if (r.closedUntil !== undefined) {
            await progress.flush();
            await wait(r.closedUntil, windowReason(dp, pkg.priority, r.closedUntil));
          }
          try {
            await adapter.activate(packageId, version.sourceVersion, version.manifestId, manifestBytes, {
              seedFromExisting: mode !== 'redistribute',
              rebuild: repair,
              ...(base ? { base } : {}),
              signal: ctx.signal,
            });
            break;
          } catch (e) {
            if (!isSitecastError(e, 'MISSING_CHUNKS') || round >= maxActivationRounds) throw e;
            missing = (e.details.missing as ChunkId[] | undefined) ?? [];
            progress.grow(sumSizes(missing, uniqueChunks));
            d.log?.(
              `transfer ${packageId} → ${dp.name}: DP still lacks ${missing.length} chunk(s); sending them`,
            );
          }
        }
        await progress.flush();
      }
      const now = d.clock.now();
      await d.packages.transaction(async (trx) => {
        const latest = await d.targets.find(packageId, dpId, trx);
        // A newer version may have been recorded meanwhile: its transfer is queued, so stay "updating".
        const done = !latest || latest.targetVersion <= version.sourceVersion;
        await d.targets.update(
          packageId,
          dpId,
          {
            state: done ? DpState.INSTALLED : DpState.CONTENT_UPDATING,
            installedVersion: version.sourceVersion,
            bytesSent: sent,
            rate: 0,
            lastError: null,
            lastCopied: now,
            waitReason: null,
            resumeAt: null,
          },
          now,
          trx,
        );
        const add = (messageId: number, strings: string[]) =>
          d.messages.add(
            {
              packageId,
              dpId,
              messageId,
              messageState: MessageState.Success,
              severity: Severity.Informational,
              insertionStrings: strings,
              time: now,
            },
            trx,
          );
        await add(MessageId.TRANSFER_FINISHED, [
          packageId,
          dp.name,
          String(sent),
          String(version.totalBytes),
        ]);
        await add(MessageId.DISTRIBUTED_TO_DP, [packageId, String(version.sourceVersion), dp.name]);
      });
      d.log?.(
        `transfer ${packageId} → ${dp.name}: SourceVersion ${version.sourceVersion} installed, ${sent} bytes sent of ${version.totalBytes}`,
      );
      await recordForHealth(d, dp, null);
    } catch (e) {
      if (e instanceof JobDeferred) throw e;
      const err = toSitecastError(e, `distribution of ${packageId} to ${dp.name}`);
      if (ctx.signal.aborted) {
        // Cancelled by an admin (CancelDistribution records the failed state) or the worker stopping:
        // either way this attempt's state is not ours to write.
        throw err;
      }
      const retrying = willRetry(job, err);
      const now = d.clock.now();
      await d.packages.transaction(async (trx) => {
        await d.targets.update(
          packageId,
          dpId,
          {
            state: retrying ? DpState.INSTALL_RETRYING : DpState.INSTALL_FAILED,
            lastError: `${err.hex} ${err.message}`,
            rate: 0,
            attempts: job.attempts,
            waitReason: null,
            resumeAt: null,
          },
          now,
          trx,
        );
        await d.messages.add(
          {
            packageId,
            dpId,
            messageId: retrying ? MessageId.DP_RETRYING : MessageId.DP_FAILED,
            messageState: MessageState.Error,
            severity: retrying ? Severity.Warning : Severity.Error,
            insertionStrings: retrying
              ? [packageId, dp.name, String(job.attempts), err.message]
              : [packageId, dp.name, err.message],
            time: now,
          },
          trx,
        );
      });
      await recordForHealth(d, dp, `${err.hex} ${err.message}`);
      throw err;
    }
  };
}

/** The DP's health shows how its last transfer went; failing to note it must not change the transfer's outcome. */
async function recordForHealth(
  d: DistributionDeps,
  dp: DistributionPoint,
  error: string | null,
): Promise<void> {
  try {
    await d.dps.recordTransfer(dp.dpId, error);
  } catch (e) {
    d.log?.(`health of ${dp.name}: could not record the last transfer: ${(e as Error).message}`);
  }
}

/**
 * The site's copy of the manifest a remote DP presents, so the new manifest travels as a delta against it;
 * undefined (the whole manifest is sent) for a local DP, a DP without the package, or a base the site has
 * collected since.
 */
async function manifestDeltaBase(
  d: DistributionDeps,
  adapter: DpAdapter,
  current: DpPackageState | null,
  nextManifestId: string,
): Promise<{ manifestId: string; manifest: Manifest } | undefined> {
  if (adapter.kind === 'local' || !current || current.manifestId === nextManifestId) return undefined;
  try {
    const manifest = await d.library.manifests.getManifest(current.manifestId);
    return { manifestId: current.manifestId, manifest };
  } catch (e) {
    if (isSitecastError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
}

function sumSizes(ids: readonly ChunkId[], sizes: ReadonlyMap<ChunkId, number>): number {
  let n = 0;
  for (const id of ids) n += sizes.get(id) ?? 0;
  return n;
}

/**
 * Sends the chunks in batches the pacer sizes and lets through; stops early when the DP's availability
 * window closes (`closedUntil`: when it opens again, null if never), with what was sent so far landed.
 */
async function sendChunks(
  d: DistributionDeps,
  adapter: DpAdapter,
  packageId: string,
  ids: readonly ChunkId[],
  signal: AbortSignal,
  progress: ProgressReporter,
  pacer: TransferPacer,
): Promise<{ sent: number; closedUntil?: number | null }> {
  let sent = 0;
  let batch: DpChunk[] = [];
  let batchSize = 0;
  // Unpaced, the next batch travels while the DP verifies and writes the last one (a DP stores one
  // package's batches one at a time, in any order); under a limit one at a time, so the pacer's timing
  // stays exact.
  const depth = pacer.unpaced ? sendDepth : 1;
  const inFlight: Promise<void>[] = [];
  let failed: { error: unknown } | undefined;
  const flush = async (): Promise<number | null | undefined> => {
    if (failed) throw failed.error;
    if (batch.length === 0) return undefined;
    const gate = await pacer.beforeSend(batchSize, signal);
    if (!gate.go) return gate.until;
    const [chunks, size, t0] = [batch, batchSize, d.clock.now()];
    batch = [];
    batchSize = 0;
    const sending = adapter.putChunks(packageId, chunks, signal).then(async () => {
      pacer.afterSend(d.clock.now() - t0);
      sent += size;
      await progress.add(size);
    });
    // Awaited below; meanwhile a failure stops further sends (and is not left unhandled).
    sending.catch((e: unknown) => (failed ??= { error: e }));
    inFlight.push(sending);
    if (inFlight.length >= depth) await inFlight.shift();
    return undefined;
  };
  const limit = Math.min(batchBytes, pacer.batchBytes());
  // Transfers of one package to several DPs read the same chunks: the site's PackStore keeps recently read,
  // verified chunks for readers that ask (`cache`), so one read and hash serves them all; a store without
  // that option ignores it and reads (and verifies) every time.
  const read: (id: ChunkId, options: { readonly cache: boolean }) => Promise<Buffer> =
    d.library.chunks.get.bind(d.library.chunks);
  try {
    for (const id of ids) {
      signal.throwIfAborted();
      const bytes = await read(id, { cache: true });
      batch.push({ id, bytes });
      batchSize += bytes.length;
      if (batchSize >= limit) {
        const closedUntil = await flush();
        if (closedUntil !== undefined) {
          await Promise.all(inFlight);
          return { sent, closedUntil };
        }
      }
    }
    const closedUntil = await flush();
    await Promise.all(inFlight);
    return closedUntil !== undefined ? { sent, closedUntil } : { sent };
  } finally {
    // Never leave a send running behind a failure: the job's outcome is decided once all have settled.
    await Promise.allSettled(inFlight);
  }
}

function newPacer(d: DistributionDeps, dp: DistributionPoint, priority: number): TransferPacer {
  const b = dp.bandwidth ?? defaultBandwidth;
  return new TransferPacer({
    clock: d.clock,
    limit: b.rateLimit,
    availability: b.availability,
    priority,
    timeZone: b.timeZone ?? d.timeZone ?? systemTimeZone(),
    maxBatchBytes: batchBytes,
  });
}

function describeLimit(limit: RateLimit): string {
  switch (limit.mode) {
    case 'rate':
      return `at most ${formatBytesPerSecond(limit.bytesPerSecond)}`;
    case 'pulse':
      return `in pulses of ${limit.blockBytes} bytes every ${limit.delayMs} ms`;
    case 'hourly':
      return 'within the hourly transfer-rate percentages';
    default:
      return formatRateLimit(limit);
  }
}

function formatBytesPerSecond(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} KB/s` : `${n} B/s`;
}

/** What status says while a rate-limited transfer runs; null when the DP has no limit. */
function limitReason(dp: DistributionPoint): string | null {
  const limit = (dp.bandwidth ?? defaultBandwidth).rateLimit;
  return limit.mode === 'unlimited' ? null : `rate limit: sending to ${dp.name} ${describeLimit(limit)}`;
}

function windowReason(dp: DistributionPoint, priority: number, until: number | null): string {
  const who = `priority ${priority} (${['', 'high', 'medium', 'low'][priority] ?? '?'})`;
  return until === null
    ? `the availability window of ${dp.name} never opens for ${who}; change its schedule or the package Priority`
    : `the availability window of ${dp.name} is closed for ${who}; sending resumes at ${new Date(until).toISOString()}`;
}

/** Records why the transfer waits and until when, then hands the job back to run at that time. */
async function deferTransfer(
  d: DistributionDeps,
  packageId: string,
  dp: DistributionPoint,
  until: number | null,
  reason: string,
): Promise<never> {
  const now = d.clock.now();
  const runAt = until ?? now + neverOpenRecheckMs;
  await d.targets.update(packageId, dp.dpId, { waitReason: reason, resumeAt: until, rate: 0 }, now);
  d.log?.(`transfer ${packageId} → ${dp.name} waits: ${reason}`);
  throw new JobDeferred(runAt, reason);
}

/** Records bytes done and rate for one transfer, at most once a second, and emits progress events. */
class ProgressReporter {
  readonly #meter = new RateMeter();
  #done = 0;
  #lastWrite = 0;

  constructor(
    private readonly d: DistributionDeps,
    private readonly packageId: string,
    private readonly dp: DistributionPoint,
    private total: number,
  ) {
    this.#meter.sample(d.clock.now(), 0);
  }

  grow(extra: number): void {
    this.total += extra;
  }

  async add(bytes: number): Promise<void> {
    this.#done += bytes;
    const now = this.d.clock.now();
    this.#meter.sample(now, this.#done);
    this.d.onProgress?.({
      operation: 'transfer',
      packageId: this.packageId,
      target: this.dp.name,
      bytesDone: this.#done,
      bytesTotal: this.total,
    });
    if (now - this.#lastWrite >= progressEveryMs) await this.flush();
  }

  async flush(): Promise<void> {
    this.#lastWrite = this.d.clock.now();
    await this.d.targets.update(
      this.packageId,
      this.dp.dpId,
      { bytesTotal: this.total, bytesDone: this.#done, rate: this.#meter.rate },
      this.#lastWrite,
    );
  }
}
