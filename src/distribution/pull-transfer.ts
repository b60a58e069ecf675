/**
 * The transfer to a pull DP: the site sends no chunk. It tells the DP's agent which version to build, from
 * which ranked sources (each with a short-lived read grant, so the DP never holds another agent's secret)
 * and under which rate limit and availability window, then follows the DP's own progress until the
 * version is active, recording the DP's count of verified chunks as the row's bytes done.
 *
 * Survives the agent restarting mid-pull: when the agent is back without the pull (or with another one),
 * the pull is issued again and resumes from the chunks that had landed.
 */
import { formatAvailability, formatRateLimit } from '../bandwidth/index.js';
import {
  HttpDpAdapter,
  issueReadGrant,
  type DpAdapter,
  type PackageStatus,
  type PullRequest,
  type PullSource,
} from '../dp/index.js';
import { isSitecastError, RateMeter, SitecastError, ErrorCatalog, type ErrorCode } from '../kernel/index.js';
import { systemTimeZone } from '../schedule/index.js';
import type { DistributionDeps, TransferMode } from './deps.js';
import { defaultBandwidth, pullSourcesOf, type DistributionPoint } from './dp.repository.js';
import { SITE_SOURCE } from './pull-source-check.js';

/** Read grants live this long; the follower re-issues the pull with fresh ones at half-life. */
export const GRANT_TTL_MS = 2 * 60 * 60 * 1000;
/** How often the DP's progress is read. */
const pollMs = 1000;
/** The agent may be restarting: keep following this long without an answer before failing the attempt. */
const unreachableForMs = 2 * 60 * 1000;

export interface PullTransferInput {
  readonly d: DistributionDeps;
  readonly dp: DistributionPoint;
  readonly adapter: DpAdapter;
  readonly packageId: string;
  readonly version: number;
  readonly manifestId: string;
  readonly manifestBytes: Buffer;
  readonly mode: TransferMode;
  /** Rebuild the current version, re-fetching what is bad (RefreshNow after a failed validation). */
  readonly repair: boolean;
  readonly priority: number;
  readonly signal: AbortSignal;
  /** Gives the job back to the queue until `until` (the DP's window is closed); never returns. */
  readonly defer: (until: number | null) => Promise<never>;
}

/** Runs the pull to its end; resolves to the bytes the DP fetched and verified. */
export async function pullTransfer(input: PullTransferInput): Promise<number> {
  const { dp, packageId, signal } = input;
  if (!(input.adapter instanceof HttpDpAdapter)) {
    throw new SitecastError('FAILED', `pull DP ${dp.name} is not a DP agent: only agents can pull`, {
      field: 'IsPullDP',
    });
  }
  const adapter = input.adapter;
  // CancelDistribution stops the DP's own fetching too; a worker stopping or losing its lease does not
  // (the job runs again and re-joins the pull the DP kept going).
  const onAbort = (): void => {
    const reason: unknown = signal.reason;
    if (isSitecastError(reason) && reason.details.reason === 'cancelled') {
      void adapter.stopPull(packageId).catch(() => undefined);
    }
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await follow(input, adapter);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function follow(input: PullTransferInput, adapter: HttpDpAdapter): Promise<number> {
  const { d, dp, packageId, signal } = input;
  if (input.mode === 'redistribute') await adapter.discardPending(packageId);
  let issuedAt = 0;
  const issue = async (): Promise<PackageStatus> => {
    issuedAt = d.clock.now();
    return adapter.pull(packageId, await pullRequestFor(input, issuedAt + GRANT_TTL_MS), signal);
  };
  const rebuilds = input.mode === 'redistribute' || input.repair;
  const finished = (s: PackageStatus): boolean =>
    s.manifestId === input.manifestId &&
    (rebuilds
      ? s.pull?.state === 'done' && s.pull.manifestId === input.manifestId
      : s.pull?.state !== 'activating' && s.pull?.state !== 'fetching');
  let status = await issue();
  // Already current (a plain update that found nothing to do) or already built.
  if (status.pull === null && status.manifestId === input.manifestId) return 0;
  const progress = new PullProgressRecorder(input);
  let lastAnswer = d.clock.now();
  let needIssue = false;
  /** The agent may be restarting: tolerated for a while, after which the attempt fails (and is retried). */
  const tolerate = (e: unknown): void => {
    if (!isSitecastError(e, 'DP_UNAVAILABLE') || d.clock.now() - lastAnswer > unreachableForMs) throw e;
    needIssue = true;
  };
  for (;;) {
    if (needIssue) {
      try {
        status = await issue();
        needIssue = false;
        lastAnswer = d.clock.now();
      } catch (e) {
        tolerate(e);
        await d.clock.sleep(pollMs, signal);
        continue;
      }
    }
    const pull = status.pull?.manifestId === input.manifestId ? status.pull : null;
    if (pull?.state === 'failed') throw errorOf(pull.error, `pull of ${packageId} by ${dp.name}`);
    if (finished(status)) {
      await progress.record(status);
      return pull?.bytesDone ?? 0;
    }
    if (pull?.state === 'waiting') {
      await progress.record(status);
      await input.defer(pull.waitingUntil);
    }
    if (!pull || d.clock.now() - issuedAt > GRANT_TTL_MS / 2) {
      // The agent restarted (no pull, or another one) or the grants age: issue it again; it resumes.
      needIssue = true;
      continue;
    }
    await progress.record(status);
    await d.clock.sleep(pollMs, signal);
    try {
      status = await adapter.status(packageId, signal);
      lastAnswer = d.clock.now();
    } catch (e) {
      tolerate(e);
    }
  }
}

/** The request telling the DP what to pull, from where (with grants valid until `expiresAt`), and how fast. */
async function pullRequestFor(input: PullTransferInput, expiresAt: number): Promise<PullRequest> {
  const { d, dp, packageId } = input;
  if (dp.config.kind !== 'http') throw new SitecastError('FAILED', `pull DP ${dp.name} is not a DP agent`);
  const sources: PullSource[] = [];
  for (const ref of pullSourcesOf(dp)) {
    const grant = { dp: dp.name, pkg: packageId, exp: expiresAt };
    if (ref.dp.toLowerCase() === SITE_SOURCE) {
      if (!dp.config.siteUrl) continue;
      // The site's grant is signed with the pull DP's own secret: the one key the site and the DP share.
      sources.push({
        name: SITE_SOURCE,
        url: dp.config.siteUrl,
        rank: ref.rank,
        grant: issueReadGrant(dp.config.secret, grant),
      });
      continue;
    }
    const source = await d.dps.get(ref.dp).catch(() => undefined);
    if (source?.config.kind !== 'http') continue; // removed or changed meanwhile: the other sources serve
    // Signed with the source agent's secret, which never leaves the site: the grant is all the DP gets.
    sources.push({
      name: source.name,
      url: source.config.url,
      rank: ref.rank,
      grant: issueReadGrant(source.config.secret, grant),
    });
  }
  if (sources.length === 0) {
    throw new SitecastError('INVALID_PARAMETER', `pull DP ${dp.name} has no usable source (see dp sources)`, {
      field: 'Sources',
    });
  }
  const b = dp.bandwidth ?? defaultBandwidth;
  return {
    version: input.version,
    manifestId: input.manifestId,
    manifest: input.manifestBytes.toString('base64'),
    seedFromExisting: input.mode !== 'redistribute',
    rebuild: input.repair,
    sources,
    rateLimit: formatRateLimit(b.rateLimit),
    availability: formatAvailability(b.availability),
    timeZone: b.timeZone ?? d.timeZone ?? systemTimeZone(),
    priority: input.priority,
  };
}

function errorOf(wire: NonNullable<PackageStatus['pull']>['error'], context: string): SitecastError {
  if (wire && wire.name in ErrorCatalog) {
    return new SitecastError(wire.name as ErrorCode, `${context}: ${wire.message}`, wire.details ?? {});
  }
  return new SitecastError('FAILED', `${context}: ${wire?.message ?? 'failed'}`);
}

/** Writes the DP's own count of pulled bytes to the package × DP row, at most once per poll. */
class PullProgressRecorder {
  readonly #meter = new RateMeter();

  constructor(private readonly input: PullTransferInput) {
    this.#meter.sample(input.d.clock.now(), 0);
  }

  async record(status: PackageStatus): Promise<void> {
    const { d, dp, packageId } = this.input;
    const pull = status.pull;
    if (!pull) return;
    const now = d.clock.now();
    this.#meter.sample(now, pull.bytesDone);
    d.onProgress?.({
      operation: 'transfer',
      packageId,
      target: dp.name,
      bytesDone: pull.bytesDone,
      bytesTotal: pull.bytesTotal,
    });
    await d.targets.update(
      packageId,
      dp.dpId,
      {
        bytesTotal: pull.bytesTotal,
        bytesDone: pull.bytesDone,
        rate: this.#meter.rate,
        waitReason:
          pull.state === 'waiting'
            ? `pull DP ${dp.name} waits for its availability window${pull.waitingUntil === null ? '' : ` until ${new Date(pull.waitingUntil).toISOString()}`}`
            : `pull DP ${dp.name} is fetching from its sources (${pull.chunksDone}/${pull.chunksTotal} chunks)`,
      },
      now,
    );
  }
}
