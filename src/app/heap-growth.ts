/**
 * How far V8 lets the heap grow between full garbage collections, for the `sitecast` process.
 *
 * After each mark-compact V8 sets the next limit to the live size times a factor it picks from its GC and
 * mutator speeds. For a process that streams content that factor came out at ~1.1–1.5, and the memory of
 * short-lived Buffers (socket reads, the HTTP parser's body pieces, file reads) counts against the slack
 * until a scavenge frees them. A DP agent (~33 MB live, ~16 MB slack) receiving 1 GiB therefore ran ~60
 * full mark-compacts, one per ~17 MB received: `perf` put garbage collection at 42 % of the agents' CPU and
 * 33 % of the site's during the 8-DP push (bench/dp-fanout.ts).
 *
 * A fixed factor of 2 (the heap may grow to twice what was live at the last full collection, as Go's
 * default GOGC=100) cut that to ~6 mark-compacts per GiB: agents' CPU for the push 32.6 → 12.9 s, the site's
 * 10.2 → 6.7–7.3 s, the push 24.7 → 12.6–14.0 s. Factors 3 and 5 measured the same as 2 within the bench's
 * noise, so 2 it is: the least memory for the gain.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * The V8 flag to set, or null when the process was started with its own `--heap-growing-percent` (on the
 * node command line or in NODE_OPTIONS): an operator's choice wins.
 */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions = ''): string | null {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  if (given.some((arg) => FLAG.test(arg))) return null;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * Sets the growth factor for this process; V8 reads it at every limit computation, so it applies from the
 * next collection on. Returns the flag set, or null when the operator set one.
 */
export function steadyHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): string | null {
  const flag = heapGrowthFlag(execArgv, nodeOptions);
  if (flag) setFlagsFromString(flag);
  return flag;
}
