import type { DistPointStatus } from '../distribution/index.js';
import { DpState } from '../distribution/index.js';
import { RateMeter, type ProgressEvent } from '../kernel/index.js';
import { formatTime } from './units.js';

/** One line of progress: the snapshot, or one DP. */
export interface BarState {
  readonly key: string;
  readonly label: string;
  /** State name (CONTENT_UPDATING, INSTALLED, …) or the snapshot's phase. */
  readonly state: string;
  readonly done: number;
  readonly total: number;
  /** Bytes per second, 0 while unknown. */
  readonly rate: number;
  readonly etaMs: number | undefined;
  readonly complete: boolean;
}

interface Latest {
  done: number;
  total: number;
  detail: string | undefined;
  readonly meter: RateMeter;
}

/**
 * Turns progress events (frequent, this process only) and DP status rows (once a second, any process) into
 * bar states. Events win while they are present because they are fresher; rows are what a `--no-work`
 * watcher has, since a server's events do not cross processes.
 */
export class ProgressTracker {
  #snapshot: Latest | undefined;
  readonly #transfers = new Map<string, Latest>();
  readonly #rowMeters = new Map<string, RateMeter>();

  constructor(
    private readonly packageId: string,
    private readonly now: () => number = Date.now,
  ) {}

  onEvent(e: ProgressEvent): void {
    if (e.packageId !== this.packageId) return;
    if (e.operation === 'snapshot') this.#snapshot = this.#record(this.#snapshot, e);
    else if (e.operation === 'transfer' && e.target) {
      this.#transfers.set(e.target, this.#record(this.#transfers.get(e.target), e));
    }
  }

  #record(prev: Latest | undefined, e: ProgressEvent): Latest {
    // A smaller count means a new pass (a retry, the next version): its rate starts afresh.
    const entry =
      prev && e.bytesDone >= prev.done
        ? prev
        : { done: 0, total: 0, detail: undefined, meter: new RateMeter() };
    entry.done = e.bytesDone;
    entry.total = e.bytesTotal;
    entry.detail = e.detail;
    entry.meter.sample(this.now(), e.bytesDone);
    return entry;
  }

  /**
   * Bars for the snapshot (once it has started) and for every row, in row order. While `refreshing` (a
   * refresh job of the package is queued or running) the rows still describe the previous version, so
   * the DPs are shown waiting for the snapshot rather than finished.
   */
  bars(rows: readonly DistPointStatus[], options: { readonly refreshing?: boolean } = {}): BarState[] {
    const out: BarState[] = [];
    const snap = this.#snapshot;
    if (!snap && options.refreshing) {
      // Drawn before the first event, so the snapshot line stays above the DP lines on a terminal.
      out.push({
        key: 'snapshot',
        label: 'snapshot',
        state: 'SNAPSHOT_PENDING',
        done: 0,
        total: 0,
        rate: 0,
        etaMs: undefined,
        complete: false,
      });
    }
    if (snap) {
      const complete = snap.total > 0 && snap.done >= snap.total;
      out.push({
        key: 'snapshot',
        label: 'snapshot',
        state: complete ? 'SNAPSHOT_DONE' : 'SNAPSHOT',
        done: snap.done,
        total: snap.total,
        rate: complete ? 0 : snap.meter.rate,
        etaMs: complete ? 0 : snap.meter.eta(snap.total),
        complete,
      });
    }
    for (const row of rows) {
      out.push(
        options.refreshing
          ? {
              key: `dp:${row.ServerName}`,
              label: row.ServerName,
              state: 'WAITING_FOR_SNAPSHOT',
              done: 0,
              total: 0,
              rate: 0,
              etaMs: undefined,
              complete: false,
            }
          : this.#dpBar(row),
      );
    }
    return out;
  }

  #dpBar(row: DistPointStatus): BarState {
    const name = row.ServerName;
    const installed = row.State === DpState.INSTALLED && row.SourceVersion >= row.TargetVersion;
    const failed = row.State === DpState.INSTALL_FAILED || row.State === DpState.REMOVAL_FAILED;
    if (row.State === DpState.REMOVAL_PENDING || row.State === DpState.REMOVAL_RETRYING) {
      // A removal moves no bytes: the figures of the last transfer would only mislead.
      return {
        key: `dp:${name}`,
        label: name,
        state: row.StateName,
        done: 0,
        total: 0,
        rate: 0,
        etaMs: undefined,
        complete: false,
      };
    }
    const event = this.#transfers.get(name);
    let done: number;
    let total: number;
    let meter: RateMeter;
    if (event && !installed) {
      ({ done, total, meter } = event);
    } else {
      done = row.BytesDone;
      total = row.BytesTotal;
      meter = this.#rowMeters.get(name) ?? new RateMeter();
      this.#rowMeters.set(name, meter);
      meter.sample(this.now(), done);
    }
    if (installed) {
      // Nothing (left) to send still reads as a full bar.
      total = Math.max(total, event?.total ?? 0);
      done = total;
    }
    const rate = installed || failed ? 0 : meter.rate || row.TransferRate;
    const etaMs = installed ? 0 : rate > 0 ? Math.max(0, ((total - done) * 1000) / rate) : undefined;
    // Held back by a closed window or maintenance mode (a rate limit still moves bytes): say so, not "updating".
    const held = !installed && !failed && row.WaitReason !== null && !row.WaitReason.startsWith('rate limit');
    return {
      key: `dp:${name}`,
      label: name,
      state: held ? `WAITING${row.ResumeAt ? ` until ${formatTime(row.ResumeAt)}` : ''}` : row.StateName,
      done,
      total,
      rate: held ? 0 : rate,
      etaMs: held ? undefined : etaMs,
      complete: installed || failed,
    };
  }
}
