/**
 * Reads the timestamped log of `sitecast server` (src/cli/server.command.ts) to tell how far a refresh got:
 * where to aim kills (calibrated on an uninterrupted run), and the phase a killed run was in.
 */

export interface LogLine {
  readonly at: number;
  readonly text: string;
}

export function parseServerLog(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of output.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/.exec(raw);
    if (m) lines.push({ at: Date.parse(m[1]!), text: m[2]! });
  }
  return lines;
}

export const KillPhases = [
  'startup',
  'snapshot',
  'commit',
  'transfer',
  'activation',
  'recording',
  'after',
] as const;
export type KillPhase = (typeof KillPhases)[number];

const snapshotDone = /^snapshot \S+: .*\(100%\)$/;
const transferDone = (dp: string): RegExp => new RegExp(`^transfer \\S+ → ${dp}: .*\\(100%\\)$`);
const installed = (dp: string): RegExp => new RegExp(`^transfer \\S+ → ${dp}: SourceVersion \\d+ installed`);

/**
 * Where to aim a kill: wait for the log line `after` (unanchored: raw output lines carry a timestamp),
 * then kill uniformly within `withinMs`. Triggering on log lines rather than on time since the start
 * keeps the aim when one run is slower than the calibration run.
 */
export interface KillAim {
  readonly name: 'snapshot' | 'commit' | 'transfer' | 'activation' | 'anywhere';
  readonly after: RegExp;
  readonly withinMs: number;
}

/** Kill aims calibrated on `output`, the log of one uninterrupted refresh; and that refresh's duration. */
export function killAims(output: string): { readonly aims: readonly KillAim[]; readonly totalMs: number } {
  const lines = parseServerLog(output);
  const first = (re: RegExp): number | undefined => lines.find((l) => re.test(l.text))?.at;
  const last = (re: RegExp): number | undefined => lines.findLast((l) => re.test(l.text))?.at;
  const t0 = first(/^claimed refresh /);
  const at = (what: string, t: number | undefined): number => {
    if (t === undefined || t0 === undefined) throw new Error(`the refresh logged no ${what}:\n${output}`);
    return t - t0;
  };
  const snapped = at('finished snapshot', first(snapshotDone));
  const transfers = at('transfer claim', first(/^claimed transfer /));
  const sent = at('transfer progress', first(/^transfer \S+ → .*\(100%\)$/));
  const lastSent = at('transfer progress', last(/^transfer \S+ → .*\(100%\)$/));
  const activated = at('installed version', last(/^transfer .* installed, /));
  const totalMs = at('finished transfer', last(/^finished transfer /));
  const span = (from: number, to: number): number => Math.max(20, to - from);
  return {
    aims: [
      { name: 'snapshot', after: /claimed refresh /, withinMs: span(0, snapped) },
      // The manifest write, a heartbeat and the commit transaction follow the snapshot's last progress
      // line within ~10 ms (measured): later kills land in the transfers.
      { name: 'commit', after: /snapshot \S+: .*\(100%\)/, withinMs: 15 },
      { name: 'transfer', after: /claimed transfer /, withinMs: span(transfers, lastSent) },
      // The calibration run's first refresh is the slowest (cold caches): aim inside its activation span.
      {
        name: 'activation',
        after: /transfer \S+ → \S+: .*\(100%\)/,
        withinMs: 0.8 * span(sent, activated),
      },
      { name: 'anywhere', after: /claimed refresh /, withinMs: 1.2 * totalMs },
    ],
    totalMs,
  };
}

/** How far the work of a killed server got, from its log: the least advanced DP in flight decides. */
export function killPhase(output: string, dpNames: readonly string[]): KillPhase {
  const lines = parseServerLog(output).map((l) => l.text);
  const has = (re: RegExp): boolean => lines.some((l) => re.test(l));
  if (!has(/^claimed /)) return 'startup';
  if (has(/^claimed refresh /) && !has(/SourceVersion \d+ recorded/))
    return has(snapshotDone) ? 'commit' : 'snapshot';
  if (!has(/^claimed transfer /)) return has(/SourceVersion \d+ recorded/) ? 'commit' : 'startup';
  const finished = lines.filter((l) => /^finished transfer /.test(l)).length;
  const perDp = dpNames.map((dp): KillPhase => {
    if (has(installed(dp))) return 'recording';
    if (has(transferDone(dp))) return 'activation';
    return 'transfer';
  });
  for (const p of ['transfer', 'activation'] as const) if (perDp.includes(p)) return p;
  return finished < dpNames.length ? 'recording' : 'after';
}
