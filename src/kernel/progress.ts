/**
 * One progress event type for every long operation: the CLI bars, the console and the status tables all
 * read these. Rate and ETA are computed by the reader from successive events (see rate-meter.ts).
 */
export interface ProgressEvent {
  /** What is progressing: a snapshot of a source, a transfer to a DP, a verification, … */
  readonly operation: 'snapshot' | 'transfer' | 'verify' | 'gc';
  readonly packageId?: string;
  /** The DP's NALPath or name, for per-DP operations. */
  readonly target?: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Free text for people: the current file, the phase. */
  readonly detail?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;
