/**
 * Checks a pull DP's ranked source list before it is stored: each source is the site or an existing DP
 * reached through an agent (a local folder cannot be read by a remote DP), never the DP itself, named
 * once; the site as a source needs the URL the DP reaches it at; and the graph of pull DPs and their
 * sources stays acyclic (A pulls from B which pulls from A would wait on itself forever).
 */
import { SitecastError } from '../kernel/index.js';
import { pullSourcesOf, type DistributionPoint, type PullSourceRef } from './dp.repository.js';

export const SITE_SOURCE = 'site';

/**
 * The sources normalised (DP names as registered, sorted by rank), or INVALID_PARAMETER naming the
 * problem. `all` is every DP of the site; `self` is the pull DP (by name; it may not be registered yet).
 */
export function checkPullSources(
  self: string,
  sources: readonly PullSourceRef[],
  siteUrl: string | undefined,
  all: readonly DistributionPoint[],
): PullSourceRef[] {
  if (sources.length === 0) {
    throw new SitecastError('INVALID_PARAMETER', `pull DP ${self} needs at least one source`, {
      field: 'Sources',
    });
  }
  const byName = new Map(all.map((dp) => [dp.name.toLowerCase(), dp]));
  const seen = new Set<string>();
  const out: PullSourceRef[] = [];
  for (const s of sources) {
    if (!Number.isInteger(s.rank) || s.rank < 1 || s.rank > 1000) {
      throw new SitecastError('INVALID_PARAMETER', `source ${s.dp}: rank ${s.rank} must be 1–1000`, {
        field: 'Sources',
      });
    }
    const key = s.dp.toLowerCase();
    if (key === SITE_SOURCE) {
      if (!siteUrl) {
        throw new SitecastError(
          'INVALID_PARAMETER',
          `pull DP ${self} lists the site as a source but no site URL (--site-url: where the DP reaches this site's chunk routes)`,
          { field: 'SiteUrl' },
        );
      }
    } else {
      if (key === self.toLowerCase()) {
        throw new SitecastError('INVALID_PARAMETER', `pull DP ${self} cannot list itself as a source`, {
          field: 'Sources',
        });
      }
      const dp = byName.get(key);
      if (!dp) {
        throw new SitecastError('INVALID_PARAMETER', `source DP ${s.dp} of pull DP ${self} does not exist`, {
          field: 'Sources',
          dp: s.dp,
        });
      }
      if (dp.config.kind !== 'http') {
        throw new SitecastError(
          'INVALID_PARAMETER',
          `source DP ${dp.name} of pull DP ${self} is a ${dp.kind} DP: only DP agents (and the site) can be pulled from`,
          { field: 'Sources', dp: dp.name },
        );
      }
    }
    const name = key === SITE_SOURCE ? SITE_SOURCE : byName.get(key)!.name;
    if (seen.has(name.toLowerCase())) {
      throw new SitecastError('INVALID_PARAMETER', `source ${name} is listed twice for pull DP ${self}`, {
        field: 'Sources',
      });
    }
    seen.add(name.toLowerCase());
    out.push({ dp: name, rank: s.rank });
  }
  const cycle = findCycle(self, out, all);
  if (cycle) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `pull sources would loop: ${cycle.join(' → ')} (a pull DP cannot pull, through any chain, from itself)`,
      { field: 'Sources', cycle },
    );
  }
  return out.sort((a, b) => a.rank - b.rank);
}

/** A path self → … → self through pull-source edges when `self` pulls from `sources`, else null. */
function findCycle(
  self: string,
  sources: readonly PullSourceRef[],
  all: readonly DistributionPoint[],
): string[] | null {
  const edges = new Map<string, string[]>();
  for (const dp of all) {
    if (dp.isPull)
      edges.set(
        dp.name.toLowerCase(),
        pullSourcesOf(dp).map((s) => s.dp),
      );
  }
  edges.set(
    self.toLowerCase(),
    sources.map((s) => s.dp),
  );
  const names = new Map(all.map((dp) => [dp.name.toLowerCase(), dp.name]));
  names.set(self.toLowerCase(), self);
  const visited = new Set<string>();
  const walk = (node: string, path: string[]): string[] | null => {
    for (const next of edges.get(node) ?? []) {
      const key = next.toLowerCase();
      if (key === SITE_SOURCE) continue;
      if (key === self.toLowerCase()) return [...path, self];
      if (visited.has(key)) continue;
      visited.add(key);
      const found = walk(key, [...path, names.get(key) ?? next]);
      if (found) return found;
    }
    return null;
  };
  return walk(self.toLowerCase(), [self]);
}

/** Pull DPs among `all` that list `dp` as a source (it cannot be removed while they do). */
export function pullDpsSourcingFrom(dp: DistributionPoint, all: readonly DistributionPoint[]): string[] {
  return all
    .filter((p) => p.isPull && pullSourcesOf(p).some((s) => s.dp.toLowerCase() === dp.name.toLowerCase()))
    .map((p) => p.name);
}
