/** Bytes-per-second over a sliding window, and the ETA that follows from it. */
export class RateMeter {
  readonly #windowMs: number;
  #samples: { t: number; bytes: number }[] = [];

  constructor(windowMs = 5_000) {
    this.#windowMs = windowMs;
  }

  /** Record that `bytesDone` bytes were done at time `t` (epoch ms). */
  sample(t: number, bytesDone: number): void {
    this.#samples.push({ t, bytes: bytesDone });
    const cutoff = t - this.#windowMs;
    while (this.#samples.length > 2 && this.#samples[0]!.t < cutoff) this.#samples.shift();
  }

  /** Bytes per second, 0 until two samples span some time. */
  get rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.t <= first.t) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }

  /** Milliseconds until `total` at the current rate, or undefined when the rate is unknown. */
  eta(total: number): number | undefined {
    const last = this.#samples[this.#samples.length - 1];
    const rate = this.rate;
    if (!last || rate <= 0) return undefined;
    return Math.max(0, ((total - last.bytes) * 1000) / rate);
  }
}
