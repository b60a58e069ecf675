/**
 * dp-fanout: issue 4's benchmark. First distribution of a 1 GiB package to 8 DP agents on loopback, all
 * real processes: one `sitecast server` (job worker, REST API and the site's chunk routes) and 8 `sitecast
 * dp serve` agents, each on its own folder. The bench process only makes admin calls (openSite on the same
 * home and SQLite database: create DPs and the package, AddDistributionPoints, read status) and measures.
 *
 * Run A (push): AddDistributionPoints to all 8 → every DP INSTALLED; the snapshot is made before (and timed
 * separately). Peers: 8 `rsync -a --whole-file` (and `--fsync`, and `cp -a`) from the source folder to 8
 * target folders at once, on the same disk. Run B (pull): a fresh set of 8 agents; one is pushed to, then the
 * other 7 are pull DPs fetching from it and from each other (ranked), the site last. Measured: bytes leaving
 * the site server process, from the kernel (`wchar` of /proc/<pid>/io) and from the agents' counters.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openSite, type SiteHandle } from '../src/app/site.js';
import { PackageType } from '../src/catalog/index.js';
import { loadSettings } from '../src/config/index.js';
import { DpState, type DistPointStatus } from '../src/distribution/index.js';
import type { AgentStats } from '../src/dp/http/index.js';
import { killAllAgents, startAgent, type AgentProcess } from '../test/support/agent-process.js';
import { killAllServers, spawnServer, type ServerProcess } from '../test/support/server-process.js';
import type { Benchmark, BenchContext, BenchResult } from './benchmark.js';
import { sha256File } from './content-facts.js';
import { generateFile, warmPageCache } from './inputs.js';
import { nodeFloor } from './node-floor.js';
import { runTimed, type TimedRun } from './peers.js';
import { table } from './report.js';
import { fmtBytes, fmtMs, fmtRate, fmtRatio, mibPerSec, MiB } from './timing.js';

const DP_COUNT = 8;
/** How long one phase may take before the bench gives up (1 GiB × 8 on a loaded 2-core machine). */
const phaseTimeoutMs = 60 * 60_000;

/** Kernel counters of one process: bytes it wrote through write(2)-family calls (sockets included), CPU. */
interface ProcSample {
  readonly wchar: number;
  readonly cpuMs: number;
}

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

function procSample(pid: number): ProcSample {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const wchar = Number(/^wchar: (\d+)/m.exec(io)?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = ((Number(rest[11]) + Number(rest[12])) * 1000) / clockTicks;
  return { wchar, cpuMs };
}

function procDelta(a: ProcSample, b: ProcSample): ProcSample {
  return { wchar: b.wchar - a.wchar, cpuMs: b.cpuMs - a.cpuMs };
}

function sumCpu(pids: readonly number[], samples: ReadonlyMap<number, ProcSample>): number {
  let cpu = 0;
  for (const pid of pids) cpu += procSample(pid).cpuMs - (samples.get(pid)?.cpuMs ?? 0);
  return cpu;
}

/** Polls the status rows until every DP in `names` is INSTALLED at `version` (throws on a failed one). */
async function untilInstalled(
  site: SiteHandle,
  packageId: string,
  names: readonly string[],
  version: number,
  server: ServerProcess,
): Promise<DistPointStatus[]> {
  const deadline = Date.now() + phaseTimeoutMs;
  for (;;) {
    const rows = (await site.status.distPointStatus(packageId)).filter((r) => names.includes(r.ServerName));
    const failed = rows.find((r) => r.State === DpState.INSTALL_FAILED);
    if (failed)
      throw new Error(`${failed.ServerName} failed: ${failed.LastError}\nserver log:\n${server.output}`);
    if (
      rows.length === names.length &&
      rows.every((r) => r.State === DpState.INSTALLED && r.SourceVersion === version)
    )
      return rows;
    if (Date.now() > deadline)
      throw new Error(
        `DPs not installed after ${phaseTimeoutMs / 60_000} min: ` +
          rows.map((r) => `${r.ServerName} ${r.StateName}`).join(', '),
      );
    await delay(100);
  }
}

/** When the last of `rows` was installed, as the server recorded it (epoch ms). */
function lastInstalled(rows: readonly DistPointStatus[]): number {
  return Math.max(...rows.map((r) => Date.parse(r.LastCopied ?? '')));
}

function sumStats(stats: readonly AgentStats[], what: keyof AgentStats): number {
  return stats.reduce((n, s) => n + s[what].bytes, 0);
}

interface Agents {
  readonly list: readonly AgentProcess[];
  readonly names: readonly string[];
}

async function startAgents(ctx: BenchContext, set: string, first: number): Promise<Agents> {
  const names = Array.from({ length: DP_COUNT }, (_, i) => `DP${String(first + i).padStart(2, '0')}`);
  // One at a time: eight tsx start-ups at once can outlast the helper's 30 s on a loaded machine.
  const list: AgentProcess[] = [];
  for (const n of names)
    list.push(await startAgent(join(ctx.workDir, set, n), `${n}-fanout-secret-0123456789abcdef`));
  return { list, names };
}

async function stopAgents(agents: Agents): Promise<void> {
  for (const a of agents.list) {
    await a.kill('SIGTERM');
    rmSync(a.dir, { recursive: true, force: true });
  }
}

/** Every DP's copy is the source, byte for byte. */
function checkTrees(agents: Agents, packageId: string, want: string): void {
  for (const a of agents.list) {
    const got = sha256File(join(a.dir, packageId, 'install.wim'));
    if (got !== want) throw new Error(`${a.dir}: install.wim differs from the source (sha256 ${got})`);
  }
}

interface PeerRun {
  readonly label: string;
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** `count` copies of `srcDir` at once, one process each, into fresh folders (removed afterwards). */
async function parallelCopies(
  label: string,
  command: string,
  args: (target: string) => string[],
  srcDir: string,
  workDir: string,
  count: number,
  size: number,
): Promise<PeerRun> {
  const targets = Array.from({ length: count }, (_, i) => join(workDir, 'peer', `t${i + 1}`));
  for (const t of targets) rmSync(t, { recursive: true, force: true });
  mkdirSync(join(workDir, 'peer'), { recursive: true });
  warmPageCache([join(srcDir, 'install.wim')]);
  const started = performance.now();
  const runs: TimedRun[] = await Promise.all(targets.map((t) => runTimed(command, args(t))));
  const wallMs = performance.now() - started;
  for (const t of targets) {
    const copied = statSync(join(t, 'install.wim')).size;
    if (copied !== size) throw new Error(`${label}: ${t} holds ${copied} bytes, not ${size}`);
  }
  rmSync(join(workDir, 'peer'), { recursive: true, force: true });
  return { label, wallMs, cpuMs: runs.reduce((n, r) => n + r.cpuMs, 0) };
}

interface PullRun {
  readonly seed: string;
  readonly tier1: readonly string[];
  readonly rest: readonly string[];
  readonly pullNames: readonly string[];
  readonly seedMs: number;
  readonly pullMs: number;
  readonly wallB: number;
  readonly serverB: ProcSample;
  readonly agentCpuB: number;
  readonly statsB: readonly AgentStats[];
  readonly namesB: readonly string[];
  readonly pushedB: number;
  readonly pulledB: number;
  readonly servedByAgentsB: number;
  readonly fromSiteB: number;
}

/** Run B: one push DP, then seven pull DPs sourcing from it and from each other, the site last. */
async function pullRun(
  ctx: BenchContext,
  site: SiteHandle,
  server: ServerProcess,
  siteUrl: string,
  packageId: string,
  source: string,
  want: string,
): Promise<PullRun> {
  ctx.log('run B: 1 push DP, then 7 pull DPs sourcing from it and from each other');
  const agents = await startAgents(ctx, 'pull', 11);
  const [seed, tier1a, tier1b, ...rest] = agents.names as [string, string, string, ...string[]];
  const tier1 = [tier1a, tier1b];
  const sourcesOf = (name: string): { dp: string; rank: number }[] =>
    tier1.includes(name)
      ? [
          { dp: seed, rank: 1 },
          { dp: 'site', rank: 2 },
        ]
      : [
          { dp: tier1a, rank: 1 },
          { dp: tier1b, rank: 1 },
          { dp: seed, rank: 2 },
          { dp: 'site', rank: 3 },
        ];
  for (const [i, a] of agents.list.entries()) {
    const name = agents.names[i]!;
    await site.dps.addHttp({
      name,
      url: a.url,
      secret: a.secret,
      ...(name !== seed && { pull: { sources: sourcesOf(name), siteUrl } }),
    });
  }
  warmPageCache([source]);
  const serverPid = server.pid;
  const agentPidsB = agents.list.map((a) => a.child.pid!);
  const beforeB = new Map([serverPid, ...agentPidsB].map((pid) => [pid, procSample(pid)]));
  const t0 = Date.now();
  await site.distribution.addDistributionPoints(packageId, [seed]);
  const seedRows = await untilInstalled(site, packageId, [seed], 1, server);
  const seedMs = lastInstalled(seedRows) - t0;
  const pullNames = [...tier1, ...rest];
  const t1 = Date.now();
  await site.distribution.addDistributionPoints(packageId, pullNames);
  const rowsB = await untilInstalled(site, packageId, pullNames, 1, server);
  const pullMs = lastInstalled(rowsB) - t1;
  const wallB = lastInstalled(rowsB) - t0;
  const serverB = procDelta(beforeB.get(serverPid)!, procSample(serverPid));
  const agentCpuB = sumCpu(agentPidsB, beforeB);
  const statsB = await Promise.all(agents.list.map((a) => a.adapter().stats()));
  checkTrees(agents, packageId, want);
  const namesB = agents.names;
  await stopAgents(agents);
  // Chunks reach a DP pushed (received) or pulled; what was pulled came from an agent (served) or the site.
  const pushedB = sumStats(statsB, 'received');
  const pulledB = sumStats(statsB, 'pulled');
  const servedByAgentsB = sumStats(statsB, 'served');
  const fromSiteB = pushedB + pulledB - servedByAgentsB;

  return {
    seed,
    tier1,
    rest,
    pullNames,
    seedMs,
    pullMs,
    wallB,
    serverB,
    agentCpuB,
    statsB,
    namesB,
    pushedB,
    pulledB,
    servedByAgentsB,
    fromSiteB,
  };
}

/** The report's Run B section. */
function pullSection(p: PullRun, size: number): string[] {
  const { seed, tier1, rest, pullNames, seedMs, pullMs, wallB, serverB, agentCpuB, statsB, namesB } = p;
  const { pushedB, pulledB, servedByAgentsB, fromSiteB } = p;
  const pullRatio = fromSiteB / size;
  const pullWcharRatio = serverB.wchar / size;
  return [
    '## Run B — 1 push DP, 7 pull DPs sourcing from each other',
    '',
    `${seed} is pushed to; once it is INSTALLED, ${pullNames.join(', ')} are targeted at once as pull ` +
      `DPs. ${tier1.join(' and ')} pull from ${seed} (rank 1), the site (rank 2); ${rest.join(', ')} pull ` +
      `from ${tier1.join(' and ')} (rank 1, random order among equals), ${seed} (rank 2), the site (rank 3). ` +
      'A source answers 404 for a chunk it has not yet got, and the puller asks the next one.',
    '',
    table(
      ['What', 'Value'],
      [
        [`push to ${seed}`, fmtMs(seedMs)],
        ['7 pulls (targeted → last INSTALLED)', fmtMs(pullMs)],
        ['wall, first call → last DP INSTALLED', `**${fmtMs(wallB)}**`],
        [
          'bytes leaving the site (agents: pushed + pulled − served by agents)',
          `**${fmtBytes(fromSiteB)} = ${pullRatio.toFixed(2)}× the package**`,
        ],
        [
          'bytes the site process wrote (kernel wchar: every socket write incl. HTTP framing, plus its database)',
          `${fmtBytes(serverB.wchar)} = ${pullWcharRatio.toFixed(2)}×`,
        ],
        [
          'pushed to the agents / pulled by them / served by agents',
          `${fmtBytes(pushedB)} / ${fmtBytes(pulledB)} / ${fmtBytes(servedByAgentsB)}`,
        ],
        ['CPU', `site ${fmtMs(serverB.cpuMs)}, agents ${fmtMs(agentCpuB)}`],
      ],
    ),
    '',
    table(
      ['DP', 'Mode', 'Received (push)', 'Pulled', 'Served to peers'],
      statsB.map((s, i) => [
        namesB[i]!,
        i === 0 ? 'push' : 'pull',
        fmtBytes(s.received.bytes),
        fmtBytes(s.pulled.bytes),
        fmtBytes(s.served.bytes),
      ]),
    ),
    '',
    'Which figure is judged: the agents count every chunk they store (`received` when pushed, `pulled` ' +
      'when fetched) and every chunk they hand a peer (`served`); a pulled chunk not served by an agent came ' +
      "from the site. The kernel's `wchar` of the server process counts every byte it wrote to a socket " +
      '(HTTP headers, status polls and its SQLite writes included), so it can only be higher; the target is ' +
      'judged on it, the conservative one.',
  ];
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  // For quick tries of the push path: Run B (pull DPs) takes as long again.
  const pushOnly = process.env.BENCH_DP_FANOUT_PUSH_ONLY === '1';
  const size = Math.max(16 * MiB, Math.round((1024 * MiB * ctx.scale) / MiB) * MiB);
  const total = size * DP_COUNT;
  const srcDir = join(ctx.workDir, 'source');
  const source = join(srcDir, 'install.wim');
  ctx.log(`generating the package source (${fmtBytes(size)})`);
  generateFile(source, size, 'dp-fanout');
  const want = sha256File(source);

  const home = join(ctx.workDir, 'site-home');
  // The job worker sends to all 8 DPs at once (the default, 5 like Configuration Manager's threads per
  // package, would leave 3 waiting): the server child gets the same limit through its environment.
  const settings = loadSettings({ home, siteCode: 'FAN', maxDpsPerPackage: DP_COUNT }, {});
  // The bench's own handle makes the database and content library; the server process then does the work.
  let site = await openSite(settings);
  let server: ServerProcess | undefined;
  let agents: Agents | undefined;
  try {
    await site.close();
    ctx.log('starting `sitecast server` and 8 `sitecast dp serve` agents');
    server = spawnServer({
      home,
      env: {
        SITECAST_SITE_CODE: settings.siteCode,
        SITECAST_MAX_DPS_PER_PACKAGE: String(settings.maxDpsPerPackage),
      },
    });
    await server.running;
    await server.waitForOutput(/AdminService REST API at/, 0, 60_000);
    const siteUrl = /AdminService REST API at (http:\/\/[^/\s]+)/.exec(server.output)?.[1];
    if (!siteUrl) throw new Error(`no REST API URL in the server's output:\n${server.output}`);
    site = await openSite(settings);
    agents = await startAgents(ctx, 'push', 1);
    for (const [i, a] of agents.list.entries())
      await site.dps.addHttp({ name: agents.names[i]!, url: a.url, secret: a.secret });

    const packageId = (
      await site.packages.create(PackageType.SMS_Package, { Name: 'dp-fanout', PkgSourcePath: srcDir })
    ).packageId;
    ctx.log('snapshot (RefreshPkgSource, run by the server)');
    warmPageCache([source]);
    let t0 = Date.now();
    await site.distribution.refreshPkgSource(packageId);
    for (let deadline = t0 + phaseTimeoutMs; (await site.packages.get(packageId)).sourceVersion < 1;) {
      if (Date.now() > deadline) throw new Error(`no SourceVersion 1 after the snapshot:\n${server.output}`);
      await delay(100);
    }
    const snapshotMs = Date.now() - t0;

    // Run A: push to all 8.
    ctx.log('run A: AddDistributionPoints to 8 push DPs');
    warmPageCache([source]);
    const serverPid = server.pid;
    const agentPidsA = agents.list.map((a) => a.child.pid!);
    const before = new Map([serverPid, ...agentPidsA].map((pid) => [pid, procSample(pid)]));
    t0 = Date.now();
    await site.distribution.addDistributionPoints(packageId, agents.names);
    const rowsA = await untilInstalled(site, packageId, agents.names, 1, server);
    const pushMs = lastInstalled(rowsA) - t0;
    const serverA = procDelta(before.get(serverPid)!, procSample(serverPid));
    const agentCpuA = sumCpu(agentPidsA, before);
    const statsA = await Promise.all(agents.list.map((a) => a.adapter().stats()));
    const perDpA = rowsA.map((r) => ({ name: r.ServerName, ms: Date.parse(r.LastCopied ?? '') - t0 }));
    checkTrees(agents, packageId, want);
    await stopAgents(agents);

    // Run B: one push DP, seven pull DPs sourcing from it and from each other, the site last.
    const pull = pushOnly ? null : await pullRun(ctx, site, server, siteUrl, packageId, source, want);

    ctx.log('peers: 8 × rsync -a --whole-file, 8 × rsync --fsync, 8 × cp -a');
    const rsync = await parallelCopies(
      '8 × `rsync -a --whole-file`',
      'rsync',
      (t) => ['-a', '--whole-file', `${srcDir}/`, `${t}/`],
      srcDir,
      ctx.workDir,
      DP_COUNT,
      size,
    );
    const rsyncFsync = await parallelCopies(
      '8 × `rsync -a --whole-file --fsync`',
      'rsync',
      (t) => ['-a', '--whole-file', '--fsync', `${srcDir}/`, `${t}/`],
      srcDir,
      ctx.workDir,
      DP_COUNT,
      size,
    );
    const cp = await parallelCopies(
      '8 × `cp -a`',
      'cp',
      (t) => ['-a', srcDir, t],
      srcDir,
      ctx.workDir,
      DP_COUNT,
      size,
    );
    ctx.log('reference: a minimal Node receiver (raw TCP, SHA-256, O_DIRECT) × 8');
    const floorDir = join(ctx.workDir, 'floor');
    mkdirSync(floorDir, { recursive: true });
    warmPageCache([source]);
    const floor = await nodeFloor(source, floorDir, DP_COUNT);
    rmSync(floorDir, { recursive: true, force: true });
    const floorRow = { label: '8 × minimal Node receiver (reference, see below)', ...floor };

    const pushRate = mibPerSec(total, pushMs);
    const rsyncRate = mibPerSec(total, rsync.wallMs);
    const cpuPerGib = (ms: number): string => `${(ms / 1000 / (total / 1024 ** 3)).toFixed(1)} CPU-s/GiB`;
    const concurrency =
      `${settings.maxDpsPerPackage} DPs per package (SITECAST_MAX_DPS_PER_PACKAGE; the default 5 would ` +
      `leave ${DP_COUNT - 5} of the ${DP_COUNT} waiting)`;
    const body = [
      '## Scenario',
      '',
      `Real processes on 127.0.0.1: one \`sitecast server\` (SQLite, job worker with ${concurrency}, the ` +
        "site's chunk routes on its REST port) and 8 `sitecast dp serve` agents, each with its own folder on " +
        `the same disk. The package is one ${fmtBytes(size)} generated file (partly compressible, no repeated ` +
        'chunk). The bench process only makes admin calls (openSite on the same home and database) and reads ' +
        `status; every DP's copy is checked byte for byte against the source afterwards. The snapshot ` +
        `(RefreshPkgSource, run by the server) took ${fmtMs(snapshotMs)} and is not in the figures below.`,
      '',
      '## Run A — push to 8 DPs, beside 8 parallel copies',
      '',
      table(
        ['What', 'Wall', `Aggregate (8 × ${fmtBytes(size)} ÷ wall)`, 'CPU'],
        [
          [
            'sitecast: AddDistributionPoints → last DP INSTALLED',
            `**${fmtMs(pushMs)}**`,
            `**${fmtRate(total, pushMs)}**`,
            `site ${fmtMs(serverA.cpuMs)} + agents ${fmtMs(agentCpuA)} (${cpuPerGib(serverA.cpuMs + agentCpuA)})`,
          ],
          ...[rsync, rsyncFsync, cp, floorRow].map((p) => [
            p.label,
            fmtMs(p.wallMs),
            fmtRate(total, p.wallMs),
            `${fmtMs(p.cpuMs)} (${cpuPerGib(p.cpuMs)})`,
          ]),
        ],
      ),
      '',
      `Ratio sitecast ÷ rsync: **${fmtRatio(pushRate / rsyncRate)}**; ÷ rsync --fsync: ` +
        `${fmtRatio(pushRate / mibPerSec(total, rsyncFsync.wallMs))}; ÷ cp: ${fmtRatio(pushRate / mibPerSec(total, cp.wallMs))}. ` +
        `Bytes the site process wrote (kernel wchar: sockets, plus its small database writes): ` +
        `${fmtBytes(serverA.wchar)} = ${(serverA.wchar / size).toFixed(2)}× the package.`,
      '',
      'The minimal Node receiver row (bench/node-floor.ts) is what Node itself does here for a design that ' +
        'verifies every chunk on every DP: one sender streams the chunks as frames over raw loopback TCP to 8 ' +
        'receiver processes, each hashing every chunk against its id, writing 8 MiB at a time with O_DIRECT ' +
        'and fsyncing; no HTTP, authentication, database, progress or resumability. The distance from ' +
        "sitecast's row to it is protocol and process overhead; the distance from it to rsync is what " +
        'hashing every byte on every DP costs in Node.',
      '',
      'rsync runs with `--whole-file` (the default for a local copy anyway): the targets are empty, so a ' +
        'delta has nothing to match and would only cost block checksums. Sitecast hashes every chunk on ' +
        "arrival (against its id), writes it once, straight to its place in the announced version's tree, " +
        'and fsyncs the tree before switching to it; plain rsync and cp leave the copies in the page cache, ' +
        'hence the `--fsync` row.',
      '',
      table(
        ['DP', 'Installed after', 'Chunks received', 'Bytes received', 'Duplicates'],
        perDpA.map((d, i) => [
          d.name,
          fmtMs(d.ms),
          String(statsA[i]!.received.chunks),
          fmtBytes(statsA[i]!.received.bytes),
          String(statsA[i]!.duplicates.chunks),
        ]),
      ),
      '',
      ...(pull ? pullSection(pull, size) : ['## Run B — not run (BENCH_DP_FANOUT_PUSH_ONLY=1)']),
    ].join('\n');
    return {
      body,
      summary: [
        `push to 8: ${fmtMs(pushMs)} = ${fmtRate(total, pushMs)} aggregate; 8 × rsync ${fmtMs(rsync.wallMs)} = ` +
          `${fmtRate(total, rsync.wallMs)} (ratio ${fmtRatio(pushRate / rsyncRate)}); cp ${fmtRate(total, cp.wallMs)}`,
        pull
          ? `pull: site sent ${(pull.serverB.wchar / size).toFixed(2)}× the package (agents' count ` +
            `${(pull.fromSiteB / size).toFixed(2)}×); wall ${fmtMs(pull.wallB)} (push ${fmtMs(pull.seedMs)} + ` +
            `pulls ${fmtMs(pull.pullMs)})`
          : 'pull: not run',
      ],
      targets: [
        {
          name: 'push aggregate throughput vs 8 × rsync -a',
          target: '≥ rsync',
          measured: `${pushRate.toFixed(1)} vs ${rsyncRate.toFixed(1)} MiB/s (${fmtRatio(pushRate / rsyncRate)})`,
          met: pushRate >= rsyncRate,
        },
        ...(pull
          ? [
              {
                name: 'pull: bytes leaving the site for 8 DPs ÷ package size',
                target: '≤ 2×',
                measured: `${(pull.serverB.wchar / size).toFixed(2)}× (push: ${(serverA.wchar / size).toFixed(2)}×)`,
                met: pull.serverB.wchar / size <= 2,
              },
            ]
          : []),
      ],
    };
  } finally {
    await site.close().catch(() => undefined);
    await killAllAgents();
    if (server) {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, delay(10_000)]);
    }
    await killAllServers();
  }
}

export const benchmark: Benchmark = {
  name: 'dp-fanout',
  title:
    'First distribution of 1 GiB to 8 DP agents: push vs 8 × rsync, and pull DPs sourcing from each other',
  peers: [{ command: 'rsync', aptPackage: 'rsync' }],
  run,
};
