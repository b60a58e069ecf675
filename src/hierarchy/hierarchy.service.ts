/**
 * The site hierarchy of one site (design §6): its role, its link to a parent, its children's links, the
 * join handshake (both ends), queueing replication to children, and the status reports that flow up.
 */
import type { Kysely, Transaction } from 'kysely';
import { parseRateLimit, type AvailabilityMatrix } from '../bandwidth/index.js';
import { checkTimeZone } from '../schedule/index.js';
import type { Database } from '../db/index.js';
import { JobKind, jobKey, type DistributionDeps, type StatusService } from '../distribution/index.js';
import { generateDpSecret } from '../dp/index.js';
import { SitecastError } from '../kernel/index.js';
import { SiteClient } from './site-client.js';
import { SiteLinkRepository, type ChildLink, type ParentLink } from './site-link.repository.js';
import type { ContentLibrary } from '../content/index.js';
import { ReplicaReceiver } from './replica-receiver.js';
import type { SiteReportRepository } from './site-report.repository.js';
import { SiteRepository, type SiteRole } from './site.repository.js';
import {
  joinResponse,
  statusResponse,
  type PackageMeta,
  type ReportedSite,
  type StatusReport,
} from './site-wire.js';
import type { z } from 'zod';
import type { joinRequest } from './site-wire.js';

/** Attempts of a replicate job: an unreachable child is retried (with backoff, capped) for a long time. */
export const REPLICATE_MAX_ATTEMPTS = 1000;

/** One node of `site tree`. */
export interface SiteTreeNode {
  readonly siteCode: string;
  readonly role: string;
  readonly state: string;
  readonly children: SiteTreeNode[];
}

export interface HierarchyServiceDeps {
  readonly db: Kysely<Database>;
  readonly distribution: DistributionDeps;
  readonly status: StatusService;
  readonly library: ContentLibrary;
  readonly reports: SiteReportRepository;
  /** The sitecast version this site reports to its parent. */
  readonly version: string;
}

export class HierarchyService {
  readonly links: SiteLinkRepository;
  readonly reports: SiteReportRepository;
  /** The child side of replication (what `/site/v1` calls from the parent land on). */
  readonly receiver: ReplicaReceiver;
  readonly #sites: SiteRepository;
  /** The join secret children present (parent side); undefined: this site accepts no children. */
  #joinSecret: string | undefined;

  constructor(private readonly h: HierarchyServiceDeps) {
    this.links = new SiteLinkRepository(h.db);
    this.reports = h.reports;
    this.receiver = new ReplicaReceiver({
      db: h.db,
      distribution: h.distribution,
      library: h.library,
      reports: h.reports,
    });
    this.#sites = new SiteRepository(h.db, h.distribution.clock);
  }

  get siteCode(): string {
    return this.h.distribution.siteCode;
  }

  get version(): string {
    return this.h.version;
  }

  get clock(): DistributionDeps['clock'] {
    return this.h.distribution.clock;
  }

  log(line: string): void {
    this.h.distribution.log?.(line);
  }

  async role(): Promise<SiteRole> {
    return (await this.#sites.local())?.role ?? 'primary';
  }

  /** Sets this site's role (and parent URL); a CAS cannot be one while it holds DPs. */
  async setRole(role: SiteRole, parentUrl: string | null): Promise<void> {
    if (role === 'cas') {
      const dps = await this.h.distribution.dps.list();
      if (dps.length > 0) {
        throw new SitecastError(
          'INVALID_PARAMETER',
          `site ${this.siteCode} has ${dps.length} distribution points: a central administration site holds none (remove them first)`,
          { field: 'role' },
        );
      }
      if (parentUrl !== null) {
        throw new SitecastError('INVALID_PARAMETER', 'a central administration site has no parent', {
          field: 'parent',
        });
      }
    }
    await this.#sites.setRole(role, parentUrl);
  }

  /**
   * The rate limit, availability window and its time zone of the link to child `child`: content sent down
   * it is paced like content sent to a DP (a closed window defers the replication, saying until when).
   */
  async setLinkBandwidth(
    child: string,
    change: {
      readonly rateLimit?: string;
      readonly availability?: AvailabilityMatrix;
      readonly timeZone?: string | null;
    },
  ): Promise<ChildLink> {
    const link = await this.links.findChild(child.toUpperCase());
    if (!link) {
      throw new SitecastError('NOT_FOUND', `site ${child} is not a child of site ${this.siteCode}`, {
        field: 'SiteCode',
      });
    }
    const timeZone = change.timeZone === undefined ? link.bandwidth.timeZone : change.timeZone;
    if (timeZone !== null) checkTimeZone(timeZone);
    await this.links.setChildBandwidth(link.siteCode, {
      rateLimit: change.rateLimit === undefined ? link.bandwidth.rateLimit : parseRateLimit(change.rateLimit),
      availability: change.availability ?? link.bandwidth.availability,
      timeZone,
    });
    // Replications waiting for the link look again now.
    await this.h.distribution.queue.expedite({ keyPrefix: `replicate:${link.siteCode}:` });
    return (await this.links.findChild(link.siteCode))!;
  }

  /** Which join secret children must present; undefined refuses every join. */
  setJoinSecret(secret: string | undefined): void {
    this.#joinSecret = secret;
  }

  get joinSecret(): string | undefined {
    return this.#joinSecret;
  }

  /** Refuses a DP on a central administration site (DpRegistry calls it before adding one). */
  async assertMayAddDp(): Promise<void> {
    if ((await this.role()) === 'cas') {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `site ${this.siteCode} is a central administration site: it holds no distribution points (add them at a primary or secondary site)`,
        { field: 'SiteCode', siteCode: this.siteCode },
      );
    }
  }

  /**
   * Parent side of the join (the caller already checked the join secret's signature): records the child
   * with a fresh per-link secret and queues every package's metadata to it.
   */
  async acceptJoin(
    req: z.infer<typeof joinRequest>,
  ): Promise<{ parentSiteCode: string; parentRole: SiteRole; linkSecret: string }> {
    const role = await this.role();
    const allowed: Record<SiteRole, string | undefined> = {
      cas: 'primary',
      primary: 'secondary',
      secondary: undefined,
    };
    if (allowed[role] !== req.role) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `site ${this.siteCode} (${role}) cannot have a ${req.role} child: a CAS has primaries, a primary has secondaries, a secondary none`,
        { field: 'role' },
      );
    }
    if (req.siteCode === this.siteCode) {
      throw new SitecastError('INVALID_PARAMETER', `site code ${req.siteCode} is this site's own`, {
        field: 'siteCode',
      });
    }
    const linkSecret = generateDpSecret();
    const now = this.h.distribution.clock.now();
    await this.links.upsertChild(
      { siteCode: req.siteCode, role: req.role, url: req.url, secret: linkSecret, version: req.version },
      now,
    );
    await this.#queueAll(req.siteCode);
    this.h.distribution.log?.(`hierarchy: site ${req.siteCode} (${req.role}) joined from ${req.url}`);
    return { parentSiteCode: this.siteCode, parentRole: role, linkSecret };
  }

  /** Child side of the join: presents the join secret, keeps the link secret the parent issues. */
  async joinParent(o: {
    parentUrl: string;
    joinSecret: string;
    publicUrl: string;
    role: 'primary' | 'secondary';
  }): Promise<ParentLink> {
    const client = new SiteClient({
      url: o.parentUrl,
      secret: o.joinSecret,
      siteCode: this.siteCode,
      clock: this.h.distribution.clock,
    });
    const answer = await client.call(
      {
        method: 'POST',
        path: '/join',
        json: { siteCode: this.siteCode, role: o.role, url: o.publicUrl, version: this.h.version },
        context: `join of site ${this.siteCode}`,
      },
      joinResponse,
    );
    await this.setRole(o.role, o.parentUrl);
    await this.links.setParent(
      {
        siteCode: answer.parentSiteCode,
        role: answer.parentRole,
        url: o.parentUrl,
        secret: answer.linkSecret,
      },
      this.h.distribution.clock.now(),
    );
    return (await this.links.parent())!;
  }

  /**
   * Metadata from the parent: stored, and passed on to this site's children when it is new or changed
   * (a version passes on by itself, through onVersionRecorded).
   */
  async applyMetadata(meta: PackageMeta): Promise<{ heldVersion: number; wantsContent: boolean }> {
    const r = await this.receiver.applyMetadata(meta);
    if (r.changed) {
      for (const c of await this.links.listChildren())
        await this.#queue(c.siteCode, meta.PackageID, meta.Priority);
    }
    return { heldVersion: r.heldVersion, wantsContent: r.wantsContent };
  }

  /** The hook of DistributionDeps.onVersionRecorded: a replicate job per child, in the version's transaction. */
  async onVersionRecorded(packageId: string, trx: Transaction<Database>): Promise<void> {
    const pkg = await this.h.distribution.packages.find(packageId, trx);
    for (const c of await this.links.listChildren(trx))
      await this.#queue(c.siteCode, packageId, pkg?.priority ?? 2, trx);
  }

  async #queue(
    child: string,
    packageId: string,
    priority: number,
    trx?: Transaction<Database>,
  ): Promise<void> {
    await this.h.distribution.queue.enqueue(
      {
        kind: JobKind.Replicate,
        key: jobKey.replicate(child, packageId),
        // Package work like transfers: it counts against the packages-at-once limit.
        packageId,
        payload: { child },
        priority,
        maxAttempts: REPLICATE_MAX_ATTEMPTS,
      },
      trx,
    );
  }

  async #queueAll(child: string): Promise<number> {
    let n = 0;
    for (const p of await this.h.distribution.packages.list()) {
      await this.#queue(child, p.packageId, p.priority);
      n++;
    }
    return n;
  }

  /**
   * Parent side of a status report: stores the branch's rows and, as anti-entropy, queues replication of
   * every package the child lacks, or holds at an older version while its branch has a DP targeted with
   * it (a child that was down, or added a DP since). Returns how many replications were queued.
   */
  async applyStatusReport(report: StatusReport): Promise<number> {
    const d = this.h.distribution;
    const now = d.clock.now();
    await this.reports.replaceBranch(report, now);
    const before = await this.links.childContact(report.siteCode, now, report.version);
    const own = report.sites.find((s) => s.siteCode === report.siteCode);
    const held = new Map((own?.packages ?? []).map((p) => [p.packageId, p.sourceVersion]));
    const wanted = new Set(report.dps.map((r) => r.PackageID));
    let queued = 0;
    for (const p of await d.packages.list()) {
      const v = held.get(p.packageId);
      if (v === undefined || (v < p.sourceVersion && wanted.has(p.packageId))) {
        await this.#queue(report.siteCode, p.packageId, p.priority);
        queued++;
      }
    }
    if (before === 'unreachable') d.log?.(`hierarchy: site ${report.siteCode} is reachable again`);
    return queued;
  }

  /** Child side: this site's branch (itself, its descendants, every DP of every package) for its parent. */
  async buildStatusReport(): Promise<StatusReport> {
    const d = this.h.distribution;
    const parent = await this.links.parent();
    const role = await this.role();
    const packages = await d.packages.list();
    const self: ReportedSite = {
      siteCode: this.siteCode,
      parentCode: parent?.siteCode ?? this.siteCode,
      role: role === 'secondary' ? 'secondary' : 'primary',
      packages: packages.map((p) => ({ packageId: p.packageId, sourceVersion: p.sourceVersion })),
    };
    const descendants: ReportedSite[] = [];
    for (const s of await this.reports.sites()) {
      const versions: { packageId: string; sourceVersion: number }[] = [];
      for (const p of packages) {
        const v = (await this.reports.siteVersions(p.packageId)).get(s.siteCode);
        if (v !== undefined) versions.push({ packageId: p.packageId, sourceVersion: v });
      }
      descendants.push({
        siteCode: s.siteCode,
        parentCode: s.parentCode,
        role: s.role === 'secondary' ? 'secondary' : 'primary',
        packages: versions,
      });
    }
    const dps = [];
    for (const p of packages) dps.push(...(await this.h.status.hierarchyDpStatus(p.packageId)));
    return { siteCode: this.siteCode, version: this.h.version, sites: [self, ...descendants], dps };
  }

  /** Sends the branch report to the parent; returns how many replications the parent queued. */
  async reportToParent(report?: StatusReport): Promise<number> {
    const parent = await this.links.parent();
    if (!parent) return 0;
    const client = new SiteClient({
      url: parent.url,
      secret: parent.secret,
      siteCode: this.siteCode,
      clock: this.h.distribution.clock,
    });
    const now = () => this.h.distribution.clock.now();
    try {
      const answer = await client.call(
        {
          method: 'POST',
          path: '/status',
          json: report ?? (await this.buildStatusReport()),
          context: `status of site ${this.siteCode}`,
        },
        statusResponse,
      );
      await this.links.parentContact(now(), null);
      return answer.queued;
    } catch (e) {
      await this.links.parentContact(now(), e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  listChildren(): Promise<ChildLink[]> {
    return this.links.listChildren();
  }

  parent(): Promise<ParentLink | undefined> {
    return this.links.parent();
  }

  /** This site and everything below it, as links and reports know it. */
  async tree(): Promise<SiteTreeNode> {
    const children = await this.links.listChildren();
    const reported = await this.reports.sites();
    const state = new Map(children.map((c) => [c.siteCode, c.state as string]));
    const build = (code: string, role: string): SiteTreeNode => ({
      siteCode: code,
      role,
      state: code === this.siteCode ? 'local' : (state.get(code) ?? 'reported'),
      children: [
        ...children.filter(() => code === this.siteCode).map((c) => build(c.siteCode, c.role)),
        ...reported
          .filter((s) => s.parentCode === code && code !== this.siteCode)
          .map((s) => build(s.siteCode, s.role)),
      ],
    });
    return build(this.siteCode, await this.role());
  }
}
