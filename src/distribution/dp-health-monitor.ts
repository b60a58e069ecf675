import type { DpAdapter } from '../dp/index.js';
import type { Clock } from '../kernel/index.js';
import {
  classifyHealth,
  defaultHealthThresholds,
  type DpHealthThresholds,
  type DpProbe,
} from './dp-health.js';
import type { DistributionPoint, DpHealthCheck, DpHealthState, DpRepository } from './dp.repository.js';

export interface DpHealthMonitorDeps {
  /** The DPs (read each round: added and removed ones are picked up) and their adapters. */
  readonly dps: {
    list(): Promise<DistributionPoint[]>;
    adapter(dp: DistributionPoint): Promise<DpAdapter>;
  };
  readonly repo: Pick<DpRepository, 'recordHealth'>;
  readonly clock: Clock;
  readonly log?: (line: string) => void;
}

export interface DpHealthMonitorOptions extends Partial<DpHealthThresholds> {
  /** Time between the starts of two rounds (a round over many slow DPs may take longer); default 60 s. */
  readonly intervalMs?: number;
  /** A probe without an answer by then makes the DP offline; default 15 s, at most the interval. */
  readonly timeoutMs?: number;
  /** Probes at once (each is one request to an agent): 5 000 DPs never mean 5 000 sockets; default 16. */
  readonly concurrency?: number;
}

/** One DP's outcome in a round. */
export interface DpHealthResult extends DpHealthCheck {
  readonly dp: string;
  readonly previous: DpHealthState;
}

/**
 * Probes every DP's health periodically (rule in `dp-health.ts`) and records it on the DP row, so
 * `dp list` and SMS_DistributionPointInfo show it. Logs a line when a DP's state changes, not on every
 * round. A probe that ignores its abort signal (a hung network mount) is not started again while it hangs.
 */
export class DpHealthMonitor {
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #thresholds: DpHealthThresholds;
  /** Probes that outlived their timeout and have not settled, by DP id. */
  readonly #hung = new Map<number, Promise<unknown>>();
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly d: DpHealthMonitorDeps,
    options: DpHealthMonitorOptions = {},
  ) {
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#timeoutMs = Math.min(options.timeoutMs ?? 15_000, this.#intervalMs);
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
    this.#thresholds = {
      lowFreeBytes: options.lowFreeBytes ?? defaultHealthThresholds.lowFreeBytes,
      lowFreePercent: options.lowFreePercent ?? defaultHealthThresholds.lowFreePercent,
    };
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** One round: probes every DP, at most `concurrency` at once, and records what it found. */
  async checkAll(signal?: AbortSignal): Promise<DpHealthResult[]> {
    const queue = [...(await this.d.dps.list())];
    const results: DpHealthResult[] = [];
    const worker = async (): Promise<void> => {
      for (let dp = queue.shift(); dp && !signal?.aborted; dp = queue.shift()) {
        const result = await this.checkOne(dp, signal);
        if (result) results.push(result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, queue.length) }, worker));
    return results.sort((a, b) => a.dp.localeCompare(b.dp));
  }

  /**
   * Probes one DP, records the outcome and logs it if the DP's state changed. Undefined when `signal`
   * aborted meanwhile (the server stopping): a probe cut short says nothing about the DP.
   */
  async checkOne(dp: DistributionPoint, signal?: AbortSignal): Promise<DpHealthResult | undefined> {
    const probe = await this.#probe(dp, signal);
    if (signal?.aborted) return undefined;
    const check = classifyHealth(
      probe,
      dp.health?.transferError ?? null,
      this.d.clock.now(),
      this.#thresholds,
    );
    await this.d.repo.recordHealth(dp.dpId, check);
    const previous = dp.health?.state ?? 'unknown';
    if (previous !== check.state) this.d.log?.(changeLine(dp.name, previous, check));
    return { ...check, dp: dp.name, previous };
  }

  async #probe(dp: DistributionPoint, outer: AbortSignal | undefined): Promise<DpProbe> {
    if (this.#hung.has(dp.dpId)) return { kind: 'timeout', ms: this.#timeoutMs, stillRunning: true };
    const probeAbort = new AbortController();
    const timerStop = new AbortController();
    // Stopping the monitor ends the wait at once, even for a probe that ignores its signal.
    const onStop = (): void => {
      probeAbort.abort();
      timerStop.abort();
    };
    outer?.addEventListener('abort', onStop, { once: true });
    const asked = (async (): Promise<DpProbe> => {
      try {
        return { kind: 'answered', health: await (await this.d.dps.adapter(dp)).health(probeAbort.signal) };
      } catch (e) {
        return { kind: 'failed', error: e instanceof Error ? e.message : String(e) };
      }
    })();
    let first: DpProbe | 'timeout' | 'stopped';
    try {
      first = await Promise.race([
        asked,
        this.d.clock.sleep(this.#timeoutMs, timerStop.signal).then(
          () => 'timeout' as const,
          () => 'stopped' as const,
        ),
      ]);
    } finally {
      timerStop.abort();
      outer?.removeEventListener('abort', onStop);
    }
    if (first !== 'timeout' && first !== 'stopped') return first;
    probeAbort.abort(new Error(`health probe of ${dp.name} timed out`));
    this.#hung.set(
      dp.dpId,
      asked.finally(() => this.#hung.delete(dp.dpId)),
    );
    return { kind: 'timeout', ms: this.#timeoutMs, stillRunning: false };
  }

  /** Runs rounds every `intervalMs` until stop(); the first at once. */
  start(): void {
    if (this.#loop) return;
    const stop = (this.#stop = new AbortController());
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        const started = this.d.clock.now();
        try {
          await this.checkAll(stop.signal);
        } catch (e) {
          this.d.log?.(
            `DP health monitor: ${(e as Error).message}; trying again in ${this.#intervalMs / 1000} s`,
          );
        }
        try {
          const wait = Math.max(0, started + this.#intervalMs - this.d.clock.now());
          await this.d.clock.sleep(wait, stop.signal);
        } catch {
          return;
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }
}

function changeLine(name: string, previous: string, c: DpHealthCheck): string {
  const head = `DP ${name} health ${previous} → ${c.state}`;
  if (c.state !== 'online') return `${head}: ${c.error ?? ''}`;
  return c.freeBytes === undefined ? head : `${head} (${(c.freeBytes / 1024 ** 3).toFixed(1)} GiB free)`;
}
