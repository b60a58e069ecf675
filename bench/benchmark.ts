/** What a benchmark module exports and what it hands back to the harness (bench/run.ts). */

export interface BenchContext {
  /** A fresh directory for this benchmark's generated inputs and outputs; the harness removes it afterwards. */
  readonly workDir: string;
  /**
   * Multiplies every input size (BENCH_SCALE, default 1). Reports made at another scale say so; targets are
   * judged at scale 1 only.
   */
  readonly scale: number;
  /** Progress lines for the person watching (stderr); not part of the report. */
  log(line: string): void;
}

/** One target of the issue, judged on this run's figures. */
export interface TargetCheck {
  readonly name: string;
  /** The target as the issue states it, e.g. "≥ 5× casync". */
  readonly target: string;
  /** The measured figure, formatted, e.g. "7.1×". */
  readonly measured: string;
  readonly met: boolean;
}

export interface BenchResult {
  /** Markdown sections (without the title and machine facts: the harness adds those). */
  readonly body: string;
  /** A few lines for the terminal. */
  readonly summary: readonly string[];
  readonly targets: readonly TargetCheck[];
}

export interface Benchmark {
  /** Also the report's file name: bench/results/<name>.md. */
  readonly name: string;
  readonly title: string;
  /** External commands it compares against (checked, and installed from Debian if missing, before it runs). */
  readonly peers: readonly PeerTool[];
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** A peer command and the Debian package that provides it. */
export interface PeerTool {
  readonly command: string;
  readonly aptPackage: string;
}
