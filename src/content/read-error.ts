/** Maps a failure to read a source file (in a worker or on the main thread) to a SitecastError naming it. */
import { SitecastError } from '../kernel/index.js';

export function readError(code: string, message: string, path: string): SitecastError {
  switch (code) {
    case 'SHORT_READ':
      return new SitecastError('SOURCE_CHANGING', `${path} got shorter while it was read (${message})`, {
        path,
      });
    case 'ENOENT':
      return new SitecastError('SOURCE_NOT_FOUND', `source file ${path} does not exist`, { path });
    case 'EACCES':
    case 'EPERM':
      return new SitecastError('SOURCE_ACCESS_DENIED', `permission denied reading source file ${path}`, {
        path,
      });
    case 'ABORT_ERR':
      return cancelledError(path);
    default:
      return new SitecastError('FAILED', `reading ${path} failed: ${message}`, { path, errno: code });
  }
}

export function cancelledError(path?: string): SitecastError {
  return new SitecastError('CANCELLED', path ? `reading ${path} was cancelled` : 'cancelled', {
    ...(path ? { path } : {}),
  });
}

/** Maps anything thrown by a local fs call on `path` to a SitecastError naming it. */
export function fsError(e: unknown, path: string): SitecastError {
  if (e instanceof SitecastError) return e;
  const err = e as NodeJS.ErrnoException;
  return readError(err?.code ?? 'ERROR', err?.message ?? String(e), path);
}
