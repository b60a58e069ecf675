import { isAbsolute } from 'node:path';
import type { DpAdapter } from '../dp/index.js';
import { SitecastError, type Clock } from '../kernel/index.js';
import { nalPathOf, type DistributionPoint, type DpRepository } from './dp.repository.js';
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
  ) {}

  async addLocal(input: AddLocalDpInput): Promise<DistributionPoint> {
    if (!dpNamePattern.test(input.name)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `DP name ${JSON.stringify(input.name)} must be 1–63 letters, digits, '.', '-' or '_' and start with a letter or digit`,
        { field: 'Name' },
      );
    }
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
