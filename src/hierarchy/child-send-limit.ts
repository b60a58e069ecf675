/**
 * At most N sends to any one child site at a time (Configuration Manager's sender: 3 per site), within this
 * server process. A job waiting for its turn keeps its lease alive.
 */
export class ChildSendLimit {
  readonly #active = new Map<string, number>();

  constructor(readonly perChild = 3) {}

  /** Waits for a turn to send to `child`; returns the release function. */
  async acquire(child: string, wait: () => Promise<void>): Promise<() => void> {
    while ((this.#active.get(child) ?? 0) >= this.perChild) await wait();
    this.#active.set(child, (this.#active.get(child) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#active.get(child) ?? 1) - 1;
      if (n <= 0) this.#active.delete(child);
      else this.#active.set(child, n);
    };
  }

  /** Sends running to `child` now. */
  active(child: string): number {
    return this.#active.get(child) ?? 0;
  }
}
