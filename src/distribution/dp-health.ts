/**
 * The rule that turns one health probe of a DP into online / degraded / offline (DpHealthMonitor applies
 * it to every DP periodically):
 *
 * - offline: no answer within the probe timeout, unreachable, the secret rejected, or the DP says it cannot
 *   store content (its folder gone or read-only);
 * - degraded: it answers and can store, but its free space is below `lowFreeBytes` (1 GiB) or below
 *   `lowFreePercent` (5 %) of its volume, or it reports an error, or the last transfer to it failed;
 * - online: it answers and none of the above.
 */
import type { DpHealth } from '../dp/index.js';
import type { DpHealthCheck } from './dp.repository.js';

export interface DpHealthThresholds {
  /** Free space below this many bytes is degraded; default 1 GiB. */
  readonly lowFreeBytes: number;
  /** Free space below this share of the volume (when the DP says its size) is degraded; default 5. */
  readonly lowFreePercent: number;
}

export const defaultHealthThresholds: DpHealthThresholds = {
  lowFreeBytes: 1024 ** 3,
  lowFreePercent: 5,
};

/** What one probe came back with. */
export type DpProbe =
  | { readonly kind: 'answered'; readonly health: DpHealth }
  /** No answer within the timeout (`ms`), or the previous probe of the DP has not returned yet. */
  | { readonly kind: 'timeout'; readonly ms: number; readonly stillRunning: boolean }
  /** Probing failed before the DP was asked (its adapter could not be built). */
  | { readonly kind: 'failed'; readonly error: string };

/** Classifies one probe; `transferError` is the error of the last transfer to the DP (null if it succeeded). */
export function classifyHealth(
  probe: DpProbe,
  transferError: string | null,
  at: number,
  thresholds: DpHealthThresholds = defaultHealthThresholds,
): DpHealthCheck {
  if (probe.kind === 'timeout') {
    const error = probe.stillRunning
      ? `the health probe sent earlier has not returned (it gets ${seconds(probe.ms)} s)`
      : `no answer to the health probe within ${seconds(probe.ms)} s`;
    return { state: 'offline', error, reachable: false, at };
  }
  if (probe.kind === 'failed') return { state: 'offline', error: probe.error, reachable: false, at };
  const h = probe.health;
  if (!h.online) {
    return { state: 'offline', error: h.error ?? 'the DP cannot store content', reachable: false, at };
  }
  const problems: string[] = [];
  if (h.error !== undefined) problems.push(`the DP reports: ${h.error}`);
  const low = lowSpace(h, thresholds);
  if (low) problems.push(low);
  if (transferError !== null) problems.push(`the last transfer to it failed: ${transferError}`);
  const free = h.freeBytes === undefined ? {} : { freeBytes: h.freeBytes };
  return problems.length > 0
    ? { state: 'degraded', error: problems.join('; '), reachable: true, at, ...free }
    : { state: 'online', reachable: true, at, ...free };
}

function lowSpace(h: DpHealth, t: DpHealthThresholds): string | null {
  if (h.freeBytes === undefined) return null;
  const percent = h.totalBytes ? (h.freeBytes / h.totalBytes) * 100 : null;
  if (h.freeBytes >= t.lowFreeBytes && (percent === null || percent >= t.lowFreePercent)) return null;
  const of = h.totalBytes ? ` of ${gib(h.totalBytes)} (${percent!.toFixed(1)} %)` : '';
  return `free space low: ${gib(h.freeBytes)} free${of}, under ${gib(t.lowFreeBytes)} or ${t.lowFreePercent} %`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 2 : 1)} GiB`;
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
