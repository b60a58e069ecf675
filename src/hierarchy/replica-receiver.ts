/**
 * The child side of replication: package metadata from the parent, the chunks it lacks, then the manifest,
 * which records the version (the owner's SourceVersion number, never a snapshot of its own) and starts
 * this site's distribution to its own DPs with its own jobs, in one transaction.
 */
import type { Selectable } from 'kysely';
import { ActionInProgress, PackageRepository, type Package } from '../catalog/index.js';
import { decodeChunkBatch } from '../dp/index.js';
import type { ContentLibrary } from '../content/index.js';
import { applyManifestDelta, decodeManifest, manifestDeltaBaseId, type Manifest } from '../content/index.js';
import type { Database, PackageTable } from '../db/index.js';
import {
  MessageId,
  MessageState,
  rollOutVersion,
  Severity,
  type DistributionDeps,
} from '../distribution/index.js';
import { SitecastError } from '../kernel/index.js';
import type { SiteReportRepository } from './site-report.repository.js';
import type { PackageMeta } from './site-wire.js';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { activateRequest } from './site-wire.js';

export interface ReplicaReceiverDeps {
  readonly db: Kysely<Database>;
  readonly distribution: DistributionDeps;
  readonly library: ContentLibrary;
  readonly reports: SiteReportRepository;
}

/** SMS_Package properties of a package, as they travel to child sites. */
export function packageMetaOf(p: Package): PackageMeta {
  return {
    PackageID: p.packageId,
    PackageType: p.packageType,
    Name: p.name,
    Version: p.version,
    Description: p.description,
    Manufacturer: p.manufacturer,
    Language: p.language,
    PkgSourcePath: p.pkgSourcePath,
    PkgSourceFlag: p.pkgSourceFlag,
    PkgFlags: p.pkgFlags,
    Priority: p.priority,
    SourceSite: p.sourceSite,
    ImageProperty: p.imageProperty,
    ImageIndex: p.imageIndex,
    ForcedDisconnectEnabled: p.forcedDisconnectEnabled,
    ForcedDisconnectDelay: p.forcedDisconnectDelay,
    ForcedDisconnectNumRetries: p.forcedDisconnectNumRetries,
  };
}

export class ReplicaReceiver {
  readonly #repo: PackageRepository;

  constructor(private readonly d: ReplicaReceiverDeps) {
    this.#repo = new PackageRepository(d.db);
  }

  /** Creates or updates the package from the parent's metadata; says what this site holds and needs. */
  async applyMetadata(
    meta: PackageMeta,
  ): Promise<{ readonly heldVersion: number; readonly wantsContent: boolean; readonly changed: boolean }> {
    const dd = this.d.distribution;
    const now = dd.clock.now();
    const props = {
      package_type: meta.PackageType,
      name: meta.Name,
      version: meta.Version,
      description: meta.Description,
      manufacturer: meta.Manufacturer,
      language: meta.Language,
      pkg_source_path: meta.PkgSourcePath,
      pkg_source_flag: meta.PkgSourceFlag,
      pkg_flags: meta.PkgFlags,
      priority: meta.Priority,
      source_site: meta.SourceSite,
      image_property: meta.ImageProperty,
      image_index: meta.ImageIndex,
      forced_disconnect_enabled: meta.ForcedDisconnectEnabled ? 1 : 0,
      forced_disconnect_delay: meta.ForcedDisconnectDelay,
      forced_disconnect_num_retries: meta.ForcedDisconnectNumRetries,
    };
    const held = await this.#repo.transaction(async (trx) => {
      const existing = await this.#repo.find(meta.PackageID, trx);
      if (!existing) {
        const row: Selectable<PackageTable> = {
          package_id: meta.PackageID,
          ...props,
          source_version: 0,
          stored_pkg_version: 0,
          source_date: null,
          last_refresh_time: null,
          action_in_progress: ActionInProgress.None,
          sedo_object_version: 1,
          // Only the owner refreshes: a replica never runs the owner's schedule.
          refresh_schedule: null,
          schedule_checked_at: null,
          package_size_kb: 0,
          created_at: now,
          updated_at: now,
        };
        await this.#repo.insert(row, trx);
        return { version: 0, changed: true };
      }
      const changed = differs(existing, meta);
      if (changed) await this.#repo.update(meta.PackageID, props, undefined, now, trx);
      return { version: existing.sourceVersion, changed };
    });
    return {
      heldVersion: held.version,
      wantsContent: await this.wantsContent(meta.PackageID),
      changed: held.changed,
    };
  }

  /** True when a DP here or at a descendant site is targeted with the package. */
  async wantsContent(packageId: string): Promise<boolean> {
    const local = await this.d.distribution.targets.listForPackage(packageId);
    if (local.length > 0) return true;
    return (await this.d.reports.dpRows(packageId)).length > 0;
  }

  async missingChunks(ids: readonly string[]): Promise<string[]> {
    const have = await this.d.library.chunks.has(ids);
    return [...new Set(ids)].filter((id) => !have.has(id));
  }

  /** Stores a batch of chunks, each checked against its id (HASH_MISMATCH refuses the whole batch). */
  async putChunks(body: Buffer): Promise<number> {
    const chunks = decodeChunkBatch(body);
    await this.d.library.chunks.putMany(chunks.map((c) => ({ id: c.id, bytes: Buffer.from(c.bytes) })));
    return chunks.length;
  }

  /**
   * Records version `sourceVersion` of the package from its manifest: every chunk must be here
   * (MISSING_CHUNKS listing them otherwise), then the manifest is stored and, in one transaction, the
   * version row, SourceVersion, message 4400, this site's DP transfers and the replication to its own
   * children. A version this site already holds (or an older one) changes nothing.
   */
  /** The manifest of an activate request: whole, or rebuilt from a delta against a manifest this site holds. */
  async #manifestOf(body: z.infer<typeof activateRequest>): Promise<Manifest> {
    if (body.manifest !== undefined)
      return decodeManifest(Buffer.from(body.manifest, 'base64'), body.manifestId);
    const delta = Buffer.from(body.manifestDelta ?? '', 'base64');
    const baseId = manifestDeltaBaseId(delta);
    const manifests = this.d.library.manifests;
    if (!(await manifests.hasManifest(baseId))) {
      throw new SitecastError(
        'STALE_OBJECT',
        `the manifest delta needs base manifest ${baseId}, which this site does not hold`,
        { field: 'baseManifestId', baseManifestId: baseId },
      );
    }
    return applyManifestDelta(await manifests.getManifest(baseId), baseId, delta, body.manifestId).manifest;
  }

  async activate(
    packageId: string,
    sourceVersion: number,
    body: z.infer<typeof activateRequest>,
    parentCode: string,
  ): Promise<{ readonly sourceVersion: number; readonly applied: boolean }> {
    const dd = this.d.distribution;
    const pkg = await this.#repo.find(packageId);
    if (!pkg) {
      throw new SitecastError(
        'NOT_FOUND',
        `package ${packageId} has no metadata at this site yet: the parent sends it first`,
        { field: 'PackageID' },
      );
    }
    if (pkg.sourceVersion >= sourceVersion) return { sourceVersion: pkg.sourceVersion, applied: false };
    const manifest = await this.#manifestOf(body);
    if (manifest.packageId !== packageId) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `manifest ${body.manifestId} is for package ${manifest.packageId}, not ${packageId}`,
        { field: 'manifest' },
      );
    }
    const ids = [...new Set(manifest.files.flatMap((f) => f.chunks.map((c) => c.id)))];
    const missing = await this.missingChunks(ids);
    if (missing.length > 0) {
      throw new SitecastError(
        'MISSING_CHUNKS',
        `version ${sourceVersion} of ${packageId} needs ${missing.length} chunks this site does not hold`,
        { field: 'manifest', missing: missing.slice(0, 1000), count: missing.length },
      );
    }
    const stored = await this.d.library.manifests.putManifest(manifest);
    if (stored !== body.manifestId) {
      throw new SitecastError('HASH_MISMATCH', `manifest hashes to ${stored}, not ${body.manifestId}`, {
        field: 'manifestId',
      });
    }
    const now = dd.clock.now();
    return this.#repo.transaction(async (trx) => {
      const current = await this.#repo.get(packageId, trx);
      // A concurrent or repeated delivery got here first: versions only move forward.
      if (current.sourceVersion >= sourceVersion)
        return { sourceVersion: current.sourceVersion, applied: false };
      await this.#repo.insertVersion(
        {
          packageId,
          sourceVersion,
          manifestId: body.manifestId,
          totalBytes: body.totalBytes,
          fileCount: body.fileCount,
          chunkCount: body.chunkCount,
          jobId: null,
          createdAt: now,
        },
        trx,
      );
      await this.#repo.update(
        packageId,
        {
          source_version: sourceVersion,
          stored_pkg_version: sourceVersion,
          source_date: now,
          last_refresh_time: now,
          package_size_kb: Math.ceil(body.totalBytes / 1024),
        },
        undefined,
        now,
        trx,
      );
      await dd.messages.add(
        {
          packageId,
          dpId: null,
          messageId: MessageId.CONTENT_RECEIVED_AT_SITE,
          messageState: MessageState.Success,
          severity: Severity.Informational,
          insertionStrings: [
            packageId,
            dd.siteCode,
            String(sourceVersion),
            parentCode,
            String(body.bytesSent),
            String(body.totalBytes),
          ],
          time: now,
        },
        trx,
      );
      await rollOutVersion(dd, { packageId, sourceVersion, priority: current.priority }, now, trx);
      dd.log?.(`hierarchy: ${packageId} SourceVersion ${sourceVersion} received from ${parentCode}`);
      return { sourceVersion, applied: true };
    });
  }
}

function differs(p: Package, m: PackageMeta): boolean {
  return (
    p.name !== m.Name ||
    p.version !== m.Version ||
    p.description !== m.Description ||
    p.manufacturer !== m.Manufacturer ||
    p.language !== m.Language ||
    p.pkgSourcePath !== m.PkgSourcePath ||
    p.pkgSourceFlag !== m.PkgSourceFlag ||
    p.pkgFlags !== m.PkgFlags ||
    p.priority !== m.Priority ||
    p.sourceSite !== m.SourceSite ||
    p.imageProperty !== m.ImageProperty ||
    p.imageIndex !== m.ImageIndex ||
    p.packageType !== m.PackageType ||
    p.forcedDisconnectEnabled !== m.ForcedDisconnectEnabled ||
    p.forcedDisconnectDelay !== m.ForcedDisconnectDelay ||
    p.forcedDisconnectNumRetries !== m.ForcedDisconnectNumRetries
  );
}
