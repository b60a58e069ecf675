/**
 * Thrown by a handler that cannot make progress before a known time (a DP's availability window is
 * closed, the DP is in maintenance mode): the worker hands the job back to the queue to run at `until`,
 * without counting the attempt and without holding a lease or a concurrency slot meanwhile.
 */
export class JobDeferred extends Error {
  constructor(
    readonly until: number,
    readonly reason: string,
  ) {
    super(`deferred until ${new Date(until).toISOString()}: ${reason}`);
    this.name = 'JobDeferred';
  }
}
