/**
 * Turns a file-system error met while working on a DP root into the catalog error a distribution job
 * acts on: DISK_FULL and DP_UNAVAILABLE name the DP root, so an admin knows which DP to look at.
 */
import { stat } from 'node:fs/promises';
import { SitecastError } from '../../kernel/index.js';
import { errnoOf } from './durable-fs.js';

/** Why `root` cannot be used as a DP root, or null when it is an existing directory. */
export async function rootProblem(root: string): Promise<string | null> {
  try {
    const s = await stat(root);
    return s.isDirectory() ? null : 'is not a directory';
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'ENOTDIR') return 'is not a directory';
    return `cannot be read (${code ?? String(e)})`;
  }
}

export function unavailable(root: string, problem: string, context: string, cause?: unknown): SitecastError {
  return new SitecastError(
    'DP_UNAVAILABLE',
    `${context}: DP root ${root} ${problem}`,
    { path: root, field: 'root' },
    { cause },
  );
}

export async function dpFailure(e: unknown, root: string, context: string): Promise<SitecastError> {
  if (e instanceof SitecastError) return e;
  const code = errnoOf(e);
  const where = (e as NodeJS.ErrnoException | undefined)?.path;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SitecastError(
      'DISK_FULL',
      `${context}: no space left on DP ${root}`,
      { path: root, field: 'root', ...(where ? { file: where } : {}) },
      { cause: e },
    );
  }
  const problem = await rootProblem(root);
  if (problem) return unavailable(root, problem, context, e);
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return unavailable(root, `is not writable (${code}${where ? ` on ${where}` : ''})`, context, e);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new SitecastError(
    'FAILED',
    `${context} on DP ${root}: ${message}`,
    { path: where ?? root },
    { cause: e },
  );
}
