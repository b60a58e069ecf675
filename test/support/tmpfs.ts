/**
 * A small real tmpfs for full-disk tests. Mounting needs root: without it the test is skipped with the
 * reason printed — except under CI=true, where it is a failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

export interface Tmpfs {
  readonly path: string;
  unmount(): void;
}

/** Mounts a tmpfs of `size` (e.g. '8m') at `path`, or returns the reason it cannot. */
export function mountTmpfs(path: string, size: string): Tmpfs | { readonly skipReason: string } {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (e) {
    const reason = `cannot mount a ${size} tmpfs at ${path}: ${(e as Error).message.split('\n')[0]}`;
    if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`, { cause: e });
    console.warn(`skipping full-disk test: ${reason}`);
    return { skipReason: reason };
  }
  return {
    path,
    unmount: () => {
      try {
        execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      } catch {
        // already gone
      }
    },
  };
}
