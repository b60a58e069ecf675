import { isAbsolute } from 'node:path';
import { checkDpSecret, normaliseBaseUrl, type DpAdapter } from '../dp/index.js';
import { isSitecastError, SitecastError, type Clock } from '../kernel/index.js';
import {
  defaultPullSources,
  nalPathOf,
  type DistributionPoint,
  type DpRepository,
  type PullSourceRef,
} from './dp.repository.js';
import { checkPullSources, pullDpsSourcingFrom } from './pull-source-check.js';
import type { PackageDpRepository } from './package-dp.repository.js';

/** Builds the adapter for a DP row; `create` is set only when the DP is being added. */
export type DpAdapterFactory = (dp: DistributionPoint, options: { create: boolean }) => Promise<DpAdapter>;

export interface AddLocalDpInput {
  /** Server-style name, e.g. DP01 (letters, digits, '-', '.', '_'; at most 63). */
  readonly name: string;
  /** Absolute folder that will hold the DP's content. */
  readonly root: string;
  readonly priority?: number;
}

export interface AddHttpDpInput {
  /** Server-style name, e.g. DP04. */
  readonly name: string;
  /** Base URL of its `sitecast dp serve` agent, e.g. http://dp04:8450. */
  readonly url: string;
  /** The per-DP secret the agent was started with. */
  readonly secret: string;
  readonly priority?: number;
  /**
   * Add it even when the agent cannot be reached or does not know the secret yet (the site issued a new
   * secret the agent is to be started with). Otherwise such a DP is not added.
   */
  readonly allowOffline?: boolean;
  /** Make it a pull DP: it fetches content itself from these ranked sources (default: the site). */
  readonly pull?: PullSettings;
}

export interface PullSettings {
  /** DP names or 'site', with their rank (1 first); default `[{dp: 'site', rank: 1}]`. */
  readonly sources?: readonly PullSourceRef[];
  /** Where the DP reaches the site's chunk routes; needed when the site is a source. */
  readonly siteUrl?: string;
}

const dpNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The site's distribution points: registration, lookup by name/NALPath, and their adapters. */
export class DpRegistry {
  readonly #adapters = new Map<number, Promise<DpAdapter>>();

  constructor(
    private readonly dps: DpRepository,
    private readonly targets: PackageDpRepository,
    private readonly factory: DpAdapterFactory,
    private readonly clock: Clock,
    private readonly siteCode: string,
    /** Refuses a new DP where the site may hold none (a central administration site: src/hierarchy). */
    private readonly assertMayAddDp: () => Promise<void> = () => Promise.resolve(),
  ) {}

  async addLocal(input: AddLocalDpInput): Promise<DistributionPoint> {
    await this.assertMayAddDp();
    assertDpName(input.name);
    if (!input.root || !isAbsolute(input.root)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `DP folder ${JSON.stringify(input.root)} must be an absolute path`,
        { field: 'Path' },
      );
    }
    const priority = input.priority ?? 200;
    const nalPath = nalPathOf(input.name, this.siteCode);
    if (await this.dps.findByRef(input.name)) {
      throw new SitecastError('ALREADY_EXISTS', `distribution point ${input.name} already exists`, {
        field: 'Name',
      });
    }
    const dpDraft: Omit<DistributionPoint, 'dpId'> = {
      name: input.name,
      nalPath,
      serverName: input.name,
      siteCode: this.siteCode,
      kind: 'local',
      config: { kind: 'local', root: input.root },
      isPull: false,
      priority,
      maintenanceMode: false,
      createdAt: this.clock.now(),
    };
    // Prepare and probe the folder first: a folder that cannot be written adds nothing.
    const adapter = await this.factory({ ...dpDraft, dpId: -1 }, { create: true });
    const health = await adapter.health();
    if (!health.online) {
      throw new SitecastError(
        'DP_UNAVAILABLE',
        `DP folder ${input.root} cannot be used: ${health.error ?? 'unknown reason'}`,
        {
          field: 'Path',
          path: input.root,
        },
      );
    }
    return this.dps.insert(dpDraft);
  }

  /**
   * Adds a remote DP served by a DP agent. The agent is probed with the secret first (DP_UNAVAILABLE naming
   * the URL when unreachable, ACCESS_DENIED when it rejects the secret), unless `allowOffline`; the
   * returned `probe` says what the probe found.
   */
  async addHttp(input: AddHttpDpInput): Promise<{ dp: DistributionPoint; probe: Error | null }> {
    await this.assertMayAddDp();
    assertDpName(input.name);
    const url = normaliseBaseUrl(input.url);
    const secret = checkDpSecret(input.secret, 'Secret');
    if (await this.dps.findByRef(input.name)) {
      throw new SitecastError('ALREADY_EXISTS', `distribution point ${input.name} already exists`, {
        field: 'Name',
      });
    }
    const pull = input.pull && (await this.#checkPull(input.name, input.pull));
    const dpDraft: Omit<DistributionPoint, 'dpId'> = {
      name: input.name,
      nalPath: nalPathOf(input.name, this.siteCode),
      serverName: input.name,
      siteCode: this.siteCode,
      kind: 'http',
      config: { kind: 'http', url, secret, ...pull },
      isPull: pull !== undefined,
      priority: input.priority ?? 200,
      maintenanceMode: false,
      createdAt: this.clock.now(),
    };
    let probe: Error | null = null;
    try {
      // With create: true the factory checks the agent answers and accepts the secret.
      const adapter = await this.factory({ ...dpDraft, dpId: -1 }, { create: true });
      const health = await adapter.health();
      if (!health.online) {
        throw new SitecastError(
          'DP_UNAVAILABLE',
          `DP agent ${url} cannot store content: ${health.error ?? 'unknown reason'}`,
          { field: 'url', url },
        );
      }
    } catch (e) {
      // A bad URL or secret is the caller's mistake whatever allowOffline says.
      if (!input.allowOffline || isSitecastError(e, 'INVALID_PARAMETER')) throw e;
      probe = e instanceof Error ? e : new Error(String(e));
    }
    return { dp: await this.dps.insert(dpDraft), probe };
  }

  /**
   * Changes the ranked sources (and site URL) of a pull DP; the same checks as when it was added, the
   * cycle check included. Transfers already following a pull pick them up when they re-issue it.
   */
  async setPullSources(ref: string, settings: PullSettings): Promise<DistributionPoint> {
    const dp = await this.get(ref);
    if (!dp.isPull || dp.config.kind !== 'http') {
      throw new SitecastError('INVALID_PARAMETER', `distribution point ${dp.name} is not a pull DP`, {
        field: 'IsPullDP',
      });
    }
    const siteUrl = settings.siteUrl ?? dp.config.siteUrl;
    const pull = await this.#checkPull(dp.name, { ...settings, ...(siteUrl !== undefined && { siteUrl }) });
    await this.dps.setConfig(dp.dpId, { ...dp.config, ...pull });
    this.#adapters.delete(dp.dpId);
    return this.get(dp.dpId);
  }

  async #checkPull(
    name: string,
    settings: PullSettings,
  ): Promise<{ sources: PullSourceRef[]; siteUrl?: string }> {
    const siteUrl = settings.siteUrl === undefined ? undefined : normaliseBaseUrl(settings.siteUrl);
    const all = (await this.dps.list()).filter((d) => d.name.toLowerCase() !== name.toLowerCase());
    const sources = checkPullSources(name, settings.sources ?? defaultPullSources, siteUrl, all);
    return { sources, ...(siteUrl !== undefined && { siteUrl }) };
  }

  list(): Promise<DistributionPoint[]> {
    return this.dps.list();
  }

  /** A DP by name, server name or NALPath; NOT_FOUND naming the reference otherwise. */
  async get(ref: string | number): Promise<DistributionPoint> {
    const dp = typeof ref === 'number' ? await this.dps.findById(ref) : await this.dps.findByRef(ref);
    if (!dp) {
      throw new SitecastError('NOT_FOUND', `distribution point ${JSON.stringify(ref)} does not exist`, {
        field: 'NALPath',
        dp: ref,
      });
    }
    return dp;
  }

  /** Removes a DP that holds no package. */
  async remove(ref: string): Promise<void> {
    const dp = await this.get(ref);
    const pulling = pullDpsSourcingFrom(dp, await this.dps.list());
    if (pulling.length > 0) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `distribution point ${dp.name} is a pull source of ${pulling.join(', ')}; change their sources first`,
        { field: 'NALPath' },
      );
    }
    const held = await this.targets.listForDp(dp.dpId);
    if (held.length > 0) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `distribution point ${dp.name} still holds ${held.length} package(s) (${held.map((h) => h.packageId).join(', ')}); remove their content first`,
        { field: 'NALPath' },
      );
    }
    await this.dps.delete(dp.dpId);
    this.#adapters.delete(dp.dpId);
  }

  /** How a transfer to the DP ended (null: it succeeded), for its health (DpHealthMonitor). */
  recordTransfer(dpId: number, error: string | null): Promise<void> {
    return this.dps.recordTransfer(dpId, error, this.clock.now());
  }

  adapter(dp: DistributionPoint): Promise<DpAdapter> {
    let a = this.#adapters.get(dp.dpId);
    if (!a) {
      a = this.factory(dp, { create: false });
      a.catch(() => this.#adapters.delete(dp.dpId));
      this.#adapters.set(dp.dpId, a);
    }
    return a;
  }
}

function assertDpName(name: string): void {
  if (!dpNamePattern.test(name)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `DP name ${JSON.stringify(name)} must be 1–63 letters, digits, '.', '-' or '_' and start with a letter or digit`,
      { field: 'Name' },
    );
  }
}
