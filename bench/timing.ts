/** Measuring one run (wall clock and CPU), medians, and the units the reports print. */

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * 1024 * 1024;

/** One timed run. CPU is user + system of every thread (in-process) or of the command and its children. */
export interface Measurement {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Peak resident set of the measured process in bytes, when known. */
  readonly maxRssBytes?: number;
}

/** Times `fn` in this process: wall clock, and CPU of all its threads (worker threads included). */
export async function measureInProcess<T>(
  fn: () => Promise<T>,
): Promise<{ readonly value: T; readonly m: Measurement }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t;
  const u = process.cpuUsage(cpu);
  return { value, m: { wallMs, cpuMs: (u.user + u.system) / 1000 } };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The run with the median wall time (its CPU figure belongs to the same run). */
export function medianRun(runs: readonly Measurement[]): Measurement {
  const wall = median(runs.map((r) => r.wallMs));
  return runs.reduce((best, r) => (Math.abs(r.wallMs - wall) < Math.abs(best.wallMs - wall) ? r : best));
}

export function mibPerSec(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

/** CPU seconds per GiB: on a shared machine the steadier figure than wall-clock throughput. */
export function cpuSecPerGib(bytes: number, cpuMs: number): number {
  return cpuMs / 1000 / (bytes / GiB);
}

export function fmtRate(bytes: number, ms: number): string {
  return `${mibPerSec(bytes, ms).toFixed(1)} MiB/s`;
}

export function fmtBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(2)} MiB`;
  if (n >= KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtMs(ms: number): string {
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(0)} ms`;
}

export function fmtRatio(r: number): string {
  return `${r.toFixed(2)}×`;
}
