/** What every command file uses: the action wrapper, argument parsers and the --wait options. */
import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './cli-context.js';
import { reportWait, waitForPackage, type WaitRequest } from './package-wait.js';

/**
 * Wraps a command handler: the run's CliContext comes first, commander's arguments and options follow.
 * The handler returns the exit code (undefined means 0).
 */
export type Act = <A extends readonly unknown[]>(
  handler: (ctx: CliContext, ...args: A) => Promise<number | void>,
) => (...args: unknown[]) => Promise<void>;

/** A parser for integer options within [min, max]; commander reports a bad value and exits 2. */
export function intArg(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** For repeatable options (`--dp DP01 --dp DP02`). */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

export interface WaitFlags {
  readonly wait?: boolean;
  /** False with --no-work. */
  readonly work: boolean;
}

export function addWaitOptions(cmd: Command): Command {
  return cmd
    .option('--wait', 'wait until the queued work has ended, drawing progress; exit non-zero if a DP failed')
    .option('--no-work', 'with --wait: only watch; a running `sitecast server` does the work');
}

/** Waits (when --wait was given) and reports; returns the exit code. Without --wait, `queued` is printed. */
export async function finishQueued(
  ctx: CliContext,
  flags: WaitFlags,
  request: Omit<WaitRequest, 'work'>,
  queued: { readonly json: Record<string, unknown>; readonly text: string },
): Promise<number> {
  if (!flags.wait) {
    ctx.result(
      () => ({ ReturnValue: 0, PackageID: request.packageId, ...queued.json }),
      () => queued.text,
    );
    return 0;
  }
  ctx.print(queued.text);
  const outcome = await waitForPackage(ctx, { ...request, work: flags.work });
  return reportWait(ctx, outcome, queued.json);
}
