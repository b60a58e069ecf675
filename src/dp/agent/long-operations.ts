/**
 * Activation and verification can outlast an HTTP exchange (re-hashing gigabytes; undici gives up waiting
 * for headers after 300 s). A request naming an operation id waits at most `waitMs` for it; if it is still
 * running the agent answers 202 and the client repeats the request, which joins the same operation
 * instead of starting another. Results are kept a while so the repeat that comes after the end collects it.
 * When the last waiter's connection drops before the end (the site cancelled), the operation is aborted.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { SitecastError } from '../../kernel/index.js';

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

interface Operation {
  readonly fingerprint: string;
  readonly controller: AbortController;
  readonly done: Promise<Outcome<unknown>>;
  outcome: Outcome<unknown> | undefined;
  waiters: number;
  finishedAt: number;
}

export type Waited<T> = { readonly done: true; readonly value: T } | { readonly done: false };

export class LongOperations {
  readonly #ops = new Map<string, Operation>();

  /**
   * `dropGraceMs`: a waiter whose connection broke (a flaky link, a proxy that reset it) usually repeats
   * its request at once; the operation is cancelled only if nobody is waiting for it that long after.
   */
  constructor(
    private readonly keepMs = 10 * 60_000,
    private readonly dropGraceMs = 3_000,
  ) {}

  /**
   * Starts (or joins, for the same `key`) an operation and waits up to `waitMs` for it. `fingerprint`
   * describes the request: reusing a key for another request is INVALID_PARAMETER.
   */
  async run<T>(
    key: string,
    fingerprint: string,
    start: (signal: AbortSignal) => Promise<T>,
    waitMs: number,
    connection: AbortSignal,
  ): Promise<Waited<T>> {
    this.#sweep();
    let op = this.#ops.get(key);
    if (op && op.fingerprint !== fingerprint) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `operation id ${key} was already used for another request`,
        {
          field: 'op',
        },
      );
    }
    if (!op) {
      const controller = new AbortController();
      const created: Operation = {
        fingerprint,
        controller,
        outcome: undefined,
        waiters: 0,
        finishedAt: 0,
        done: start(controller.signal).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      };
      void created.done.then((outcome) => {
        created.outcome = outcome;
        created.finishedAt = Date.now();
      });
      this.#ops.set(key, created);
      op = created;
    }
    const outcome = op.outcome ?? (await this.#wait(op, waitMs, connection));
    if (!outcome) return { done: false };
    if (!outcome.ok) throw outcome.error;
    return { done: true, value: outcome.value as T };
  }

  async #wait(op: Operation, waitMs: number, connection: AbortSignal): Promise<Outcome<unknown> | undefined> {
    op.waiters++;
    const stopWaiting = new AbortController();
    const onDrop = (): void => {
      if (op.waiters !== 1 || op.outcome !== undefined) return;
      const timer = setTimeout(() => {
        if (op.waiters === 0 && op.outcome === undefined) {
          op.controller.abort(
            new SitecastError('CANCELLED', 'the site dropped the connection: operation cancelled'),
          );
        }
      }, this.dropGraceMs);
      timer.unref();
    };
    connection.addEventListener('abort', onDrop, { once: true });
    try {
      const timer = Number.isFinite(waitMs)
        ? delay(waitMs, undefined, { signal: stopWaiting.signal }).then(
            () => undefined,
            () => undefined,
          )
        : new Promise<undefined>(() => undefined);
      return await Promise.race([op.done, timer]);
    } finally {
      stopWaiting.abort();
      connection.removeEventListener('abort', onDrop);
      op.waiters--;
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, op] of this.#ops) {
      if (op.outcome !== undefined && now - op.finishedAt > this.keepMs) this.#ops.delete(key);
    }
  }
}
