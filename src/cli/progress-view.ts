import { MultiBar, Presets, type Options, type Params, type SingleBar } from 'cli-progress';
import type { CliStream } from './cli-io.js';
import type { BarState } from './progress-tracker.js';
import { formatBytes, formatEta, formatPercent, formatRate } from './units.js';

/** Draws bar states: live bars on a terminal, periodic lines in logs and pipes. */
export interface ProgressView {
  update(bars: readonly BarState[]): void;
  /** Final draw; the view writes nothing afterwards. */
  stop(): void;
}

export function createProgressView(
  stream: CliStream,
  options: { readonly intervalMs?: number } = {},
): ProgressView {
  return stream.isTTY
    ? new TtyProgressView(stream)
    : new LineProgressView(stream, options.intervalMs ?? 1000);
}

const labelWidth = 10;

/** `DP01        45%  1.2 MiB / 2.6 MiB  12.3 MiB/s  ETA 0:01  CONTENT_UPDATING` */
export function describeBar(b: BarState): string {
  if (b.total === 0 && !b.complete) return `${b.label.padEnd(labelWidth)}  ${b.state}`;
  const sizes = `${formatBytes(b.done)} / ${formatBytes(b.total)}`;
  const tail = b.complete ? '' : `  ${formatRate(b.rate)}  ETA ${formatEta(b.etaMs)}`;
  return `${b.label.padEnd(labelWidth)}  ${formatPercent(b.done, b.total).padStart(4)}  ${sizes}${tail}  ${b.state}`;
}

interface Payload {
  readonly bar: BarState;
}

/** Short words for the bars: a terminal line must hold the figures, the table afterwards has the SDK names. */
const shortStates: Readonly<Record<string, string>> = {
  INSTALLED: 'installed',
  INSTALL_PENDING: 'pending',
  INSTALL_RETRYING: 'retrying',
  INSTALL_FAILED: 'FAILED',
  REMOVAL_PENDING: 'removing',
  REMOVAL_RETRYING: 'retrying',
  REMOVAL_FAILED: 'FAILED',
  CONTENT_UPDATING: 'updating',
  CONTENT_MONITORING: 'checking',
  WAITING_FOR_SNAPSHOT: 'waiting',
  SNAPSHOT_PENDING: 'waiting',
  SNAPSHOT: 'reading',
  SNAPSHOT_DONE: 'done',
};

/** Everything on a bar line but the bar itself (label, percentage, sizes, state, rate, ETA). */
const fixedWidth = 72;

class TtyProgressView implements ProgressView {
  readonly #multi: MultiBar;
  readonly #bars = new Map<string, SingleBar>();

  constructor(stream: CliStream) {
    const columns = (stream as { columns?: number }).columns ?? 80;
    this.#multi = new MultiBar(
      {
        stream,
        hideCursor: true,
        clearOnComplete: false,
        barsize: Math.min(30, Math.max(8, columns - fixedWidth)),
        fps: 8,
        format: (options: Options, params: Params, payload: Payload) => {
          const b = payload.bar;
          const bar = options.formatBar?.(params.progress, options) ?? '';
          const sizes = `${formatBytes(b.done).padStart(9)} / ${formatBytes(b.total).padEnd(9)}`;
          const state = (shortStates[b.state] ?? b.state).padEnd(9);
          const tail = b.complete ? '' : `  ${formatRate(b.rate).padStart(10)}  ETA ${formatEta(b.etaMs)}`;
          return `${b.label.padEnd(8)} ${bar} ${formatPercent(b.done, b.total).padStart(4)}  ${sizes}  ${state}${tail}`.trimEnd();
        },
        formatBar: (progress: number, options: Options) => {
          const size = options.barsize ?? 24;
          const full = Math.round(Math.min(1, Math.max(0, progress)) * size);
          return '█'.repeat(full) + '░'.repeat(size - full);
        },
      },
      Presets.shades_classic,
    );
  }

  update(bars: readonly BarState[]): void {
    for (const b of bars) {
      // cli-progress divides by the total: an empty transfer is drawn as 1 of 1 (or 0 of 1).
      const total = Math.max(1, b.total);
      const value = b.total > 0 ? Math.min(b.done, b.total) : b.complete ? 1 : 0;
      const existing = this.#bars.get(b.key);
      if (existing) {
        existing.setTotal(total);
        existing.update(value, { bar: b });
      } else {
        this.#bars.set(b.key, this.#multi.create(total, value, { bar: b }));
      }
    }
  }

  stop(): void {
    this.#multi.stop();
  }
}

/** For pipes and CI logs: a line per bar whose figures changed, at most once per interval. */
class LineProgressView implements ProgressView {
  readonly #last = new Map<string, string>();
  #lastWrite = 0;
  #pending: readonly BarState[] = [];

  constructor(
    private readonly stream: CliStream,
    private readonly intervalMs: number,
  ) {}

  update(bars: readonly BarState[]): void {
    this.#pending = bars;
    const now = Date.now();
    if (now - this.#lastWrite < this.intervalMs) return;
    this.#lastWrite = now;
    this.#flush();
  }

  #flush(): void {
    for (const b of this.#pending) {
      // Rate and ETA wobble; a line is worth printing when progress or state moved.
      const key = `${b.state}|${b.done}|${b.total}`;
      if (this.#last.get(b.key) === key) continue;
      this.#last.set(b.key, key);
      this.stream.write(`  ${describeBar(b)}\n`);
    }
  }

  stop(): void {
    this.#flush();
  }
}
