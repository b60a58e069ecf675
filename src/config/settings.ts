/**
 * Settings, parsed once at the edge and frozen. This is the only module that reads process.env; everything
 * below src/app receives settings as arguments.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SitecastError } from '../kernel/index.js';

const settingsSchema = z.object({
  /** Folder holding the site database (SQLite) and the content library. */
  home: z.string().min(1),
  /** SQLite file path or postgres:// URL; default <home>/site.db. */
  db: z.string().min(1),
  /** The site code used when the database is new. */
  siteCode: z.string().regex(/^[A-Z0-9]{3}$/, 'must be 3 upper-case letters or digits'),
  /** Concurrency: packages processed at once × DPs per package (Configuration Manager: 3 × 5). */
  maxPackages: z.number().int().min(1).max(100),
  maxDpsPerPackage: z.number().int().min(1).max(100),
  /** Content sends at once to any one child site (Configuration Manager's sender: 3). */
  sendsPerChildSite: z.number().int().min(1).max(50),
  /** Worker threads that chunk and hash. */
  chunkerThreads: z.number().int().min(1).max(64),
  /**
   * Job lease length in ms: a job whose worker died is re-run this long after its last heartbeat (workers
   * heartbeat every third of it, and reap expired leases this often).
   */
  leaseMs: z.number().int().min(1000).max(3_600_000),
  /** How often `server` probes every DP's health (online / degraded / offline), in ms. */
  dpHealthIntervalMs: z.number().int().min(1000).max(86_400_000),
  /** MiB the REST API may keep answers to reads in until the database changes; 0 turns that off. */
  apiReadCacheMb: z.number().int().min(0).max(4096),
});

export type Settings = Readonly<z.infer<typeof settingsSchema>>;

export interface SettingsOverrides {
  readonly home?: string;
  readonly db?: string;
  readonly siteCode?: string;
  readonly maxPackages?: number;
  readonly maxDpsPerPackage?: number;
  readonly sendsPerChildSite?: number;
  readonly chunkerThreads?: number;
  readonly leaseMs?: number;
  readonly dpHealthIntervalMs?: number;
  readonly apiReadCacheMb?: number;
}

function intFrom(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n))
    throw new SitecastError('INVALID_PARAMETER', `${name}=${JSON.stringify(value)} is not an integer`, {
      field: name,
    });
  return n;
}

/** Settings from overrides (CLI flags) first, then SITECAST_* environment variables, then defaults. */
export function loadSettings(
  overrides: SettingsOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Settings {
  const home = resolve(overrides.home ?? env.SITECAST_HOME ?? join(homedir(), '.sitecast'));
  const raw = {
    home,
    db: overrides.db ?? env.SITECAST_DB ?? join(home, 'site.db'),
    siteCode: (overrides.siteCode ?? env.SITECAST_SITE_CODE ?? 'PS1').toUpperCase(),
    maxPackages: overrides.maxPackages ?? intFrom(env.SITECAST_MAX_PACKAGES, 'SITECAST_MAX_PACKAGES') ?? 3,
    maxDpsPerPackage:
      overrides.maxDpsPerPackage ??
      intFrom(env.SITECAST_MAX_DPS_PER_PACKAGE, 'SITECAST_MAX_DPS_PER_PACKAGE') ??
      5,
    sendsPerChildSite:
      overrides.sendsPerChildSite ??
      intFrom(env.SITECAST_SENDS_PER_CHILD_SITE, 'SITECAST_SENDS_PER_CHILD_SITE') ??
      3,
    chunkerThreads:
      overrides.chunkerThreads ?? intFrom(env.SITECAST_CHUNKER_THREADS, 'SITECAST_CHUNKER_THREADS') ?? 2,
    leaseMs: overrides.leaseMs ?? intFrom(env.SITECAST_LEASE_MS, 'SITECAST_LEASE_MS') ?? 60_000,
    dpHealthIntervalMs:
      overrides.dpHealthIntervalMs ??
      intFrom(env.SITECAST_DP_HEALTH_INTERVAL_MS, 'SITECAST_DP_HEALTH_INTERVAL_MS') ??
      60_000,
    apiReadCacheMb:
      overrides.apiReadCacheMb ?? intFrom(env.SITECAST_API_READ_CACHE_MB, 'SITECAST_API_READ_CACHE_MB') ?? 64,
  };
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new SitecastError('INVALID_PARAMETER', `setting ${field}: ${issue.message}`, { field });
  }
  return Object.freeze(parsed.data);
}
