/**
 * The benchmark harness: `npm run bench [-- name…]` runs all benchmarks or the named ones, writes each
 * report to bench/results/<name>.md and prints a short summary. Benchmarks run on demand only, never in CI.
 *
 * Environment: BENCH_DIR — where generated inputs go (default the OS temp dir; removed afterwards);
 * BENCH_SCALE — multiplies input sizes for a quick try (reports then go to BENCH_RESULTS or a temp folder,
 * never over the committed ones; targets are judged at scale 1 only).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Benchmark, TargetCheck } from './benchmark.js';
import { benchmarks } from './index.js';
import { LoadSampler, machineFacts } from './machine.js';
import { ensurePeers, peerVersion } from './peers.js';
import { renderReport, resultsDir, writeReport } from './report.js';
import { fmtMs } from './timing.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { list: { type: 'boolean', default: false } },
});

if (values.list) {
  for (const b of benchmarks) console.log(`${b.name.padEnd(18)} ${b.title}`);
  process.exit(0);
}

const unknown = positionals.filter((n) => !benchmarks.some((b) => b.name === n));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`,
  );
  process.exit(2);
}
const selected =
  positionals.length === 0 ? benchmarks : benchmarks.filter((b) => positionals.includes(b.name));

const scale = Number(process.env.BENCH_SCALE ?? '1');
if (!(scale > 0 && scale <= 16)) {
  console.error(`BENCH_SCALE=${process.env.BENCH_SCALE} must be a number in (0, 16]`);
  process.exit(2);
}
const outDir =
  process.env.BENCH_RESULTS ?? (scale === 1 ? resultsDir : join(tmpdir(), 'sitecast-bench-results'));
const baseParent = process.env.BENCH_DIR ?? tmpdir();
mkdirSync(baseParent, { recursive: true });
const base = mkdtempSync(join(baseParent, 'sitecast-bench-'));
const cleanUp = (): void => rmSync(base, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function versionsOf(b: Benchmark): string[] {
  return b.peers.map((p) =>
    p.command === 'openssl' ? peerVersion('openssl', ['version']) : peerVersion(p.command, ['--version']),
  );
}

const verdicts: { bench: string; t: TargetCheck }[] = [];
let failed = 0;
try {
  for (const b of selected) {
    log(`\n== ${b.name}: ${b.title}`);
    const workDir = join(base, b.name);
    mkdirSync(workDir, { recursive: true });
    try {
      ensurePeers(b.peers, log);
      const facts = machineFacts(workDir);
      const load = new LoadSampler();
      const t = performance.now();
      const result = await b.run({ workDir, scale, log });
      const wallMs = performance.now() - t;
      const markdown = renderReport(b, result, {
        facts,
        load: load.stop(),
        wallMs,
        scale,
        peerVersions: versionsOf(b),
      });
      mkdirSync(outDir, { recursive: true });
      const path = writeReport(b.name, markdown, outDir);
      console.log(`${b.name} (${fmtMs(wallMs)}):`);
      for (const line of result.summary) console.log(`  ${line}`);
      console.log(`  report: ${path}`);
      for (const t2 of result.targets) verdicts.push({ bench: b.name, t: t2 });
    } catch (e) {
      failed++;
      console.error(`${b.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
} finally {
  cleanUp();
}

if (verdicts.length > 0) {
  console.log(`\nTargets${scale === 1 ? '' : ` (scale ${scale}: not judged at this scale)`}:`);
  for (const { bench, t } of verdicts)
    console.log(`  ${bench}: ${t.name} ${t.target} → ${t.measured} ${t.met ? 'met' : 'NOT met'}`);
}
process.exit(failed > 0 ? 1 : 0);
