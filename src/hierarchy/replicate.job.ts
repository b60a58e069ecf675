/**
 * The replicate job (one per child site × package, key `replicate:<child>:<pkg>`): sends the package's
 * metadata, then — when a DP at or below the child is targeted with it — the package's LATEST version as
 * a delta: the child is asked which chunks it lacks, only those are sent, then the manifest. The version
 * is read when the job runs, not when it was queued, so a child that missed several refreshes receives
 * one delta to the latest. An unreachable child fails the attempt with SITE_UNAVAILABLE and the queue
 * retries with backoff; nothing here waits on a slow child outside its own job.
 */
import { encodeChunkBatch } from '../dp/index.js';
import { encodeManifestDelta, type ContentLibrary, type Manifest } from '../content/index.js';
import type { DistributionDeps } from '../distribution/index.js';
import type { Job, JobHandler } from '../jobs/index.js';
import { isSitecastError, toSitecastError } from '../kernel/index.js';
import { packageMetaOf } from './replica-receiver.js';
import { SiteClient } from './site-client.js';
import type { SiteLinkRepository } from './site-link.repository.js';
import { TransferPacer } from '../bandwidth/index.js';
import { JobDeferred } from '../jobs/index.js';
import { systemTimeZone } from '../schedule/index.js';
import { ChildSendLimit } from './child-send-limit.js';
import { activateResponse, batchResponse, metadataResponse, missingResponse } from './site-wire.js';

export interface ReplicateJobDeps {
  readonly distribution: DistributionDeps;
  readonly library: ContentLibrary;
  readonly links: SiteLinkRepository;
  /** Sends at once to any one child (default 3, as Configuration Manager's sender). */
  readonly sendLimit?: ChildSendLimit;
}

export interface ReplicatePayload {
  readonly child: string;
}

/** Chunk ids per missing-chunk query. */
const idsPerQuery = 20_000;
/** Bytes of chunk data per upload batch. */
const batchBytes = 8 * 1024 * 1024;

export function replicateJobHandler(r: ReplicateJobDeps): JobHandler {
  const d = r.distribution;
  const limit = r.sendLimit ?? new ChildSendLimit();
  return async (job: Job, ctx) => {
    const packageId = job.packageId!;
    const { child } = job.payload as ReplicatePayload;
    const link = await r.links.findChild(child);
    if (!link) return; // the child left the hierarchy
    const pkg = await d.packages.find(packageId);
    if (!pkg) return; // deleted meanwhile
    const client = new SiteClient({
      url: link.url,
      secret: link.secret,
      siteCode: d.siteCode,
      clock: d.clock,
    });
    const path = `/packages/${packageId}`;
    let sent = 0;
    try {
      const meta = await client.call(
        {
          method: 'POST',
          path: `${path}/metadata`,
          json: packageMetaOf(pkg),
          context: `metadata of ${packageId}`,
          signal: ctx.signal,
        },
        metadataResponse,
      );
      await r.links.childContact(child, d.clock.now());
      const version =
        pkg.sourceVersion > 0 ? await d.packages.findVersion(packageId, pkg.sourceVersion) : undefined;
      if (!version || meta.heldVersion >= version.sourceVersion || !meta.wantsContent) return;
      // The link's window and rate limit apply to content, as a DP's do (metadata always goes).
      const pacer = new TransferPacer({
        clock: d.clock,
        limit: link.bandwidth.rateLimit,
        availability: link.bandwidth.availability,
        priority: pkg.priority,
        timeZone: link.bandwidth.timeZone ?? d.timeZone ?? systemTimeZone(),
        maxBatchBytes: batchBytes,
      });
      const closed = (until: number | null): JobDeferred => {
        const reason =
          until === null
            ? `the link to site ${child} never opens for priority ${pkg.priority}`
            : `the link to site ${child} is closed for priority ${pkg.priority} until ${new Date(until).toISOString()}`;
        d.log?.(`replicate ${packageId} → ${child} waits: ${reason}`);
        return new JobDeferred(until ?? d.clock.now() + 3600_000, reason);
      };
      const gate = await pacer.beforeSend(0, ctx.signal);
      if (!gate.go) throw closed(gate.until);
      const release = await limit.acquire(child, async () => {
        await d.clock.sleep(500, ctx.signal);
        await ctx.heartbeat();
      });
      try {
        const manifest = await d.library.manifests.getManifest(version.manifestId);
        const ids = [...new Set(manifest.files.flatMap((f) => f.chunks.map((c) => c.id)))];
        const missing: string[] = [];
        for (let i = 0; i < ids.length; i += idsPerQuery) {
          const answer = await client.call(
            {
              method: 'POST',
              path: '/chunks/missing',
              json: { packageId, ids: ids.slice(i, i + idsPerQuery) },
              context: `missing chunks of ${packageId}`,
              signal: ctx.signal,
            },
            missingResponse,
          );
          missing.push(...answer.missing);
        }
        let batch: { id: string; bytes: Buffer }[] = [];
        let size = 0;
        const flush = async (): Promise<void> => {
          if (batch.length === 0) return;
          const body = encodeChunkBatch(batch);
          const go = await pacer.beforeSend(body.length, ctx.signal);
          // What was sent has landed at the child; the re-run asks again what is missing.
          if (!go.go) throw closed(go.until);
          const t0 = d.clock.now();
          await client.call(
            {
              method: 'POST',
              path: `/chunks/batch?packageId=${packageId}`,
              bytes: body,
              context: `chunks of ${packageId}`,
              signal: ctx.signal,
            },
            batchResponse,
          );
          pacer.afterSend(d.clock.now() - t0);
          sent += body.length;
          await r.links.addBytesSent(child, body.length);
          batch = [];
          size = 0;
          await ctx.heartbeat();
        };
        for (const id of missing) {
          const bytes = await r.library.chunks.get(id, { cache: true });
          batch.push({ id, bytes });
          size += bytes.length;
          if (size >= Math.min(batchBytes, pacer.batchBytes())) await flush();
        }
        await flush();
        let manifestSent = '';
        const activate = async (form: { manifest: string } | { manifestDelta: string }) => {
          const answer = await client.call(
            {
              method: 'PUT',
              path: `${path}/versions/${version.sourceVersion}`,
              json: {
                manifestId: version.manifestId,
                ...form,
                totalBytes: version.totalBytes,
                fileCount: version.fileCount,
                chunkCount: version.chunkCount,
                bytesSent: sent,
              },
              context: `version ${version.sourceVersion} of ${packageId}`,
              signal: ctx.signal,
            },
            activateResponse,
          );
          const text = 'manifest' in form ? form.manifest : form.manifestDelta;
          manifestSent = `${'manifest' in form ? 'manifest' : 'manifest delta'} ${Math.ceil((text.length * 3) / 4)} bytes`;
          await r.links.addBytesSent(child, Math.ceil((text.length * 3) / 4));
          return answer;
        };
        const whole = async () =>
          activate({
            manifest: (await d.library.manifests.getManifestBytes(version.manifestId)).toString('base64'),
          });
        // The child holds `heldVersion`: the manifest travels as a delta against that one when this site
        // still has it (design §3); a child that lost it answers STALE_OBJECT and gets the whole manifest.
        const delta = await manifestDeltaTo(d, packageId, meta.heldVersion, manifest);
        const done = !delta
          ? await whole()
          : await activate({ manifestDelta: delta.toString('base64') }).catch(async (e: unknown) => {
              if (!isSitecastError(e, 'STALE_OBJECT') || e.details.field !== 'baseManifestId') throw e;
              return whole();
            });
        d.log?.(
          `replicate ${packageId} → ${child}: SourceVersion ${done.sourceVersion}${done.applied ? '' : ' (already held)'}, ${missing.length} of ${ids.length} chunks sent (${sent} bytes), ${manifestSent}`,
        );
      } finally {
        release();
      }
    } catch (e) {
      if (e instanceof JobDeferred) throw e;
      const err = toSitecastError(e, `replication of ${packageId} to site ${child}`);
      if (err.code === 'SITE_UNAVAILABLE') await r.links.childUnreachable(child, err.message);
      d.log?.(`replicate ${packageId} → ${child}: ${err.message}`);
      throw err;
    }
  };
}

/** `next` as a delta against the manifest of SourceVersion `heldVersion`, if the child holds one this site still has. */
async function manifestDeltaTo(
  d: DistributionDeps,
  packageId: string,
  heldVersion: number,
  next: Manifest,
): Promise<Buffer | undefined> {
  if (heldVersion <= 0) return undefined;
  const held = await d.packages.findVersion(packageId, heldVersion);
  if (!held) return undefined;
  try {
    const base = await d.library.manifests.getManifest(held.manifestId);
    return encodeManifestDelta(base, held.manifestId, next);
  } catch (e) {
    if (isSitecastError(e, 'NOT_FOUND')) return undefined; // collected since
    throw e;
  }
}
