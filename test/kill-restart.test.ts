/**
 * Design invariants 1–3 under SIGKILL: `sitecast server` children are killed at seeded random points of
 * RefreshPkgSource runs to 3 local-folder DPs (snapshot, commit, transfers, activation), the files and the
 * database are audited after every kill, then a restarted server must finish the work without resending
 * chunks that had landed. Replay a failure with KILL_SEED=<printed seed>.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, expect, it, onTestFailed } from 'vitest';
import { openSite } from '../src/app/site.js';
import { PackageType } from '../src/catalog/index.js';
import { loadSettings, type Settings } from '../src/config/index.js';
import { decodeManifest } from '../src/content/index.js';
import { openDatabase, type Database } from '../src/db/index.js';
import { DpState } from '../src/distribution/index.js';
import { createTestDatabase, type DialectName, type TestDatabase } from './support/databases.js';
import { eachDialect } from './support/dialects.js';
import { fileSha256 } from './support/assertions.js';
import {
  incomingChunks,
  presentedVersion,
  type IncomingChunk,
  type PresentedVersion,
} from './support/folder-dp-inspect.js';
import { seededRandom, seedFrom, type SeededRandom } from './support/seeded-random.js';
import { killAims, killPhase, type KillPhase } from './support/server-log.js';
import { killAllServers, spawnServer, type ServerProcess } from './support/server-process.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const leaseMs = 2000;
const idleTimeoutMs = 60_000;
const seed = seedFrom(process.env, 'KILL_SEED');
const DP_NAMES = ['DP01', 'DP02', 'DP03'] as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(killAllServers);
afterAll(async () => {
  await killAllServers();
  for (const c of cleanups.reverse()) await c();
});

/** Overwrites 1–4 regions (sometimes one of several MiB) and sometimes appends: a new build of the image. */
function changeSource(path: string, rnd: SeededRandom, maxSize: number): void {
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  try {
    for (let n = rnd.int(1, 4); n > 0; n--) {
      const len = rnd.next() < 0.2 ? rnd.int(2 * MiB, 5 * MiB) : rnd.int(16 * KiB, 512 * KiB);
      writeSync(fd, rnd.bytes(len), 0, len, rnd.int(0, size - len));
    }
    if (rnd.next() < 0.3 && size < maxSize - MiB) {
      const len = rnd.int(64 * KiB, MiB);
      writeSync(fd, rnd.bytes(len), 0, len, size);
    }
  } finally {
    closeSync(fd);
  }
}

interface DbView {
  readonly sourceVersion: number;
  readonly actionInProgress: number;
  readonly versions: readonly { source_version: number; manifest_id: string }[];
  readonly targets: readonly {
    name: string;
    state: number;
    installed_version: number;
    target_version: number;
    bytes_sent: number;
    last_error: string | null;
  }[];
  readonly failedJobs: readonly string[];
}

async function readDb(db: Kysely<Database>, packageId: string): Promise<DbView> {
  const pkg = await db
    .selectFrom('package')
    .select(['source_version', 'action_in_progress'])
    .where('package_id', '=', packageId)
    .executeTakeFirstOrThrow();
  const versions = await db
    .selectFrom('package_version')
    .select(['source_version', 'manifest_id'])
    .where('package_id', '=', packageId)
    .orderBy('source_version')
    .execute();
  const targets = await db
    .selectFrom('package_dp')
    .innerJoin('distribution_point', 'distribution_point.dp_id', 'package_dp.dp_id')
    .select([
      'distribution_point.name',
      'package_dp.state',
      'package_dp.installed_version',
      'package_dp.target_version',
      'package_dp.bytes_sent',
      'package_dp.last_error',
    ])
    .where('package_dp.package_id', '=', packageId)
    .orderBy('distribution_point.name')
    .execute();
  const failed = await db
    .selectFrom('job')
    .select(['key', 'last_error'])
    .where('state', '=', 'failed')
    .execute();
  return {
    sourceVersion: pkg.source_version,
    actionInProgress: pkg.action_in_progress,
    versions,
    targets,
    failedJobs: failed.map((j) => `${j.key}: ${j.last_error ?? ''}`),
  };
}

/** Jobs still to do: running ones, and queued ones (a GC scheduled for later does not count until due). */
async function pendingJobs(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('job')
    .select(['kind', 'key', 'state'])
    .where((eb) =>
      eb.or([
        eb('state', '=', 'running'),
        eb.and([eb('state', '=', 'queued'), eb.or([eb('kind', '!=', 'gc'), eb('run_at', '<=', Date.now())])]),
      ]),
    )
    .execute();
  return rows.map((r) => `${r.key} (${r.state})`);
}

interface DpAtKill {
  readonly presented: PresentedVersion;
  readonly incoming: readonly IncomingChunk[];
  /** The version the database recorded as installed on this DP when the server died. */
  readonly dbInstalled: number;
}

function sumSizes(chunks: Iterable<readonly [string, number]>, keep: (id: string) => boolean): number {
  let n = 0;
  for (const [id, size] of chunks) if (keep(id)) n += size;
  return n;
}

async function runScenario(dialect: DialectName, kills: number, sourceBytes: number): Promise<void> {
  const rnd = seededRandom(seed);
  const dir = mkdtempSync(join(tmpdir(), 'sitecast-kill-'));
  let pgDb: TestDatabase | undefined;
  let keep = false;
  onTestFailed(() => {
    keep = true;
    console.log(`[kill-restart ${dialect}] kept ${dir}${pgDb ? ` and ${pgDb.url}` : ''} for inspection`);
  });
  cleanups.push(async () => {
    if (keep) return;
    await pgDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  if (dialect === 'postgres') pgDb = await createTestDatabase('postgres');
  const home = join(dir, 'home');
  const dbUrl = pgDb?.url ?? join(home, 'site.db');
  const settings: Settings = loadSettings({ home, db: dbUrl, leaseMs }, {});
  const source = join(dir, 'src', 'install.wim');
  const dpRoot = (name: string): string => join(dir, 'dps', name);
  const log = (line: string): void => console.log(`[kill-restart ${dialect}] ${line}`);
  log(`KILL_SEED=${seed} (set it to replay), ${kills} kills, source ${sourceBytes / MiB} MiB`);

  // hashes[v]: the SHA-256 of the source that SourceVersion v must be, if each refresh makes one version.
  const hashes: string[] = [''];
  mkdirSync(join(dir, 'src'));
  const fd = openSync(source, 'w');
  for (let done = 0; done < sourceBytes; done += 4 * MiB)
    writeSync(fd, rnd.bytes(Math.min(4 * MiB, sourceBytes - done)));
  closeSync(fd);

  const site = await openSite(settings);
  let packageId: string;
  try {
    for (const name of DP_NAMES) await site.dps.addLocal({ name, root: dpRoot(name) });
    packageId =
      // A folder package holding one big file: an image package would need a parseable WIM, and what
      // this test kills is the snapshot and transfer of a big file.
      (
        await site.packages.create(PackageType.SMS_Package, {
          Name: 'Killed image',
          PkgSourcePath: join(dir, 'src'),
        })
      ).packageId;
    await site.distribution.addDistributionPoints(packageId, [...DP_NAMES]);
    await site.createWorker({ pollMs: 20 }).runUntilIdle();
  } finally {
    await site.close();
  }
  hashes.push(await fileSha256(source));

  const withDb = async <T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> => {
    const database = await openDatabase(dbUrl);
    try {
      return await fn(database.db);
    } finally {
      await database.close();
    }
  };
  const newVersion = async (): Promise<void> => {
    changeSource(source, rnd, 48 * MiB);
    hashes.push(await fileSha256(source));
    const s = await openSite(settings);
    try {
      await s.distribution.refreshPkgSource(packageId);
    } finally {
      await s.close();
    }
  };
  const startServer = (): ServerProcess =>
    spawnServer({ home, db: dbUrl, env: { SITECAST_LEASE_MS: String(leaseMs) } });

  /** Waits until the job table has nothing left to do (the server keeps running, idle). */
  const untilIdle = async (server: ServerProcess, since: number, what: string): Promise<number> => {
    await withDb(async (db) => {
      for (let pending = await pendingJobs(db); pending.length > 0; pending = await pendingJobs(db)) {
        if (Date.now() - since > idleTimeoutMs)
          throw new Error(
            `${what}: jobs still pending ${idleTimeoutMs / 1000} s on: ${pending.join(', ')}\n` +
              `server log:\n${server.output}`,
          );
        await delay(100);
      }
    });
    return Date.now() - since;
  };

  /** Invariant 2 after a finished run: every DP installed at `version`, byte-identical to the source. */
  const checkFinished = async (version: number, what: string): Promise<Map<string, PresentedVersion>> => {
    const view = await withDb((db) => readDb(db, packageId));
    expect(view.failedJobs, `${what}: failed jobs`).toEqual([]);
    expect(view.sourceVersion, `${what}: SourceVersion`).toBe(version);
    expect(view.actionInProgress, `${what}: ActionInProgress`).toBe(0);
    expect(
      view.versions.map((v) => v.source_version),
      `${what}: version rows`,
    ).toEqual(Array.from({ length: version }, (_, k) => k + 1));
    expect(
      view.targets.map((t) => [t.name, t.state, t.installed_version, t.target_version, t.last_error]),
      `${what}: DP rows`,
    ).toEqual(DP_NAMES.map((n) => [n, DpState.INSTALLED, version, version, null]));
    const presented = new Map<string, PresentedVersion>();
    for (const name of DP_NAMES) {
      const p = await presentedVersion(dpRoot(name), packageId);
      expect(p?.version, `${what}: ${name} presents`).toBe(version);
      expect(await fileSha256(join(dpRoot(name), packageId, 'install.wim')), `${what}: ${name} bytes`).toBe(
        hashes[version],
      );
      presented.set(name, p!);
    }
    return presented;
  };

  /** Invariants 1 and 3 right after a kill, on the files and the database as the dead server left them. */
  const checkAfterKill = async (
    what: string,
    previous: number,
    refreshesRequested: number,
  ): Promise<Map<string, DpAtKill>> => {
    const view = await withDb((db) => readDb(db, packageId));
    const sv = view.sourceVersion;
    expect(sv, `${what}: SourceVersion went backwards`).toBeGreaterThanOrEqual(previous);
    expect(sv, `${what}: SourceVersion beyond the refreshes requested`).toBeLessThanOrEqual(
      refreshesRequested + 1,
    );
    expect(
      view.versions.map((v) => v.source_version),
      `${what}: version rows 1..${sv}`,
    ).toEqual(Array.from({ length: sv }, (_, k) => k + 1));
    // The version row and its manifest were committed together: the manifest is there and says so.
    const current = view.versions[sv - 1]!;
    const manifest = decodeManifest(
      await readFile(join(home, 'content', 'manifests', current.manifest_id)),
      current.manifest_id,
    );
    expect([manifest.packageId, manifest.sourceVersion], `${what}: manifest of v${sv}`).toEqual([
      packageId,
      sv,
    ]);
    const out = new Map<string, DpAtKill>();
    for (const name of DP_NAMES) {
      const p = await presentedVersion(dpRoot(name), packageId);
      expect(p, `${what}: ${name} presents nothing`).not.toBeNull();
      const row = view.targets.find((t) => t.name === name)!;
      expect(p!.version, `${what}: ${name} presents a version not recorded`).toBeLessThanOrEqual(sv);
      expect(
        p!.version,
        `${what}: ${name} presents an older version than the DB says`,
      ).toBeGreaterThanOrEqual(row.installed_version);
      expect(p!.version, `${what}: ${name} went back`).toBeGreaterThanOrEqual(previous);
      expect(await fileSha256(join(dpRoot(name), packageId, 'install.wim')), `${what}: ${name} bytes`).toBe(
        hashes[p!.version],
      );
      const incoming = await incomingChunks(dpRoot(name), packageId);
      expect(
        incoming.filter((c) => !c.verified).map((c) => c.id),
        `${what}: ${name} holds unverified chunks`,
      ).toEqual([]);
      out.set(name, { presented: p!, incoming, dbInstalled: row.installed_version });
    }
    return out;
  };

  await checkFinished(1, 'version 1');

  // Calibration: one uninterrupted refresh tells how long each phase lasts, to aim kills. The server that ran
  // it stays up, idle, and is the first one killed; each restarted server is the next one (a node start
  // through tsx costs ~2 s, and the CLI likewise records work while a server runs).
  let server = startServer();
  await server.running;
  let mark = server.output.length;
  await newVersion();
  const calibrationStart = await server.waitForOutput(/claimed refresh /, mark);
  await untilIdle(server, calibrationStart, 'calibration');
  await checkFinished(2, 'calibration');
  const { aims, totalMs } = killAims(server.output.slice(mark));
  log(
    `uninterrupted refresh: ${totalMs} ms; kill aims: ${aims.map((a) => `${a.name} ≤${Math.round(a.withinMs)} ms after ${a.after.source}`).join(', ')}`,
  );

  const phases = new Map<KillPhase, number>();
  let resumed = 0;
  const restartMs: number[] = [];
  for (let i = 1; i <= kills; i++) {
    const expected = i + 2;
    const what = `kill ${i}/${kills} (KILL_SEED=${seed})`;
    const aim = aims[i % aims.length]!;
    const wait = Math.round(rnd.between(0, aim.withinMs));
    mark = server.output.length;
    await newVersion();
    // A run that never logs the trigger (it failed, say) is still killed; the checks then tell why.
    const triggered = await server.waitForOutput(aim.after, mark, 20_000).catch(() => Date.now());
    await delay(Math.max(0, wait - (Date.now() - triggered)));
    const exit = await server.kill('SIGKILL');
    expect(exit.signal, `${what}: the server ended before the kill\n${server.output}`).toBe('SIGKILL');
    const phase = killPhase(server.output.slice(mark), DP_NAMES);
    phases.set(phase, (phases.get(phase) ?? 0) + 1);

    const atKill = await checkAfterKill(what, expected - 1, i + 1);
    server = startServer();
    const restarted = await server.running;
    const ms = await untilIdle(server, restarted, `${what}, restart`);
    restartMs.push(ms);
    const final = await checkFinished(expected, `${what}, after restart`);

    // Invariant 2: the resumed transfer did not send again the chunks that had landed before the kill.
    const sentRows = await withDb((db) => readDb(db, packageId));
    const notes: string[] = [];
    for (const name of DP_NAMES) {
      const before = atKill.get(name)!;
      if (before.dbInstalled === expected) continue; // that transfer was over before the kill
      const now = final.get(name)!;
      const needed = sumSizes(now.chunks, (id) => !before.presented.chunks.has(id));
      const landed = sumSizes(
        before.incoming.map((c) => [c.id, c.size] as const),
        (id) => now.chunks.has(id) && !before.presented.chunks.has(id),
      );
      const sent = sentRows.targets.find((t) => t.name === name)!.bytes_sent;
      expect(
        sent,
        `${what}: ${name} sent ${sent} B; needed ${needed}, ${landed} had landed`,
      ).toBeLessThanOrEqual(needed - landed);
      if (landed > 0 && before.presented.version < expected) {
        resumed++;
        notes.push(`${name} ${(landed / MiB).toFixed(2)}/${(needed / MiB).toFixed(2)} MiB`);
      }
    }
    log(
      `${what}: aimed at ${aim.name}, killed ${wait} ms after /${aim.after.source}/, in ${phase}; ` +
        `restart idle after ${ms} ms${notes.length ? `; landed before the kill and not resent: ${notes.join(', ')}` : ''}`,
    );
  }
  const stopped = await server.kill('SIGTERM');
  expect(stopped, `graceful stop\n${server.output}`).toEqual({ code: 0, signal: null });
  log(
    `phases hit: ${[...phases].map(([p, n]) => `${p} ${n}`).join(', ')}; ${resumed} DP transfer(s) resumed with landed chunks; restart to idle ${Math.min(...restartMs)}–${Math.max(...restartMs)} ms`,
  );
  // With 20 kills some always land mid-transfer; with the 5 of the PostgreSQL run that is left to chance.
  if (kills >= 20) expect(resumed, 'no kill left landed chunks for a restart to reuse').toBeGreaterThan(0);
  expect([...phases.keys()].filter((p) => p !== 'startup' && p !== 'after').length).toBeGreaterThanOrEqual(2);
}

eachDialect('SIGKILL during RefreshPkgSource to 3 DPs, then restart', (dialect) => {
  const kills = dialect === 'sqlite' ? 20 : 5;
  it(
    `keeps invariants 1–3 across ${kills} kills of sitecast server`,
    () => runScenario(dialect, kills, dialect === 'sqlite' ? 40 * MiB : 32 * MiB),
    // Typically 2 min and 40 s on 2 idle cores; generous, so a loaded machine slows it without failing it.
    dialect === 'sqlite' ? 600_000 : 300_000,
  );
});
