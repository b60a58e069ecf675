/**
 * The one error catalog. Every failure sitecast reports has a stable `code`, the WBEM/HRESULT value a
 * Configuration Manager admin would recognise (and that methods return as ReturnValue), an HTTP status for
 * the API and an exit code for the CLI. Messages name the field, object or path at fault.
 */

export const ErrorCatalog = {
  FAILED: { wbem: 0x80041001, http: 500, exit: 1, summary: 'generic failure' },
  NOT_FOUND: { wbem: 0x80041002, http: 404, exit: 3, summary: 'object not found' },
  ACCESS_DENIED: { wbem: 0x80041003, http: 403, exit: 4, summary: 'access denied' },
  /** No usable credential (missing, malformed, unknown, revoked or expired API token): HTTP 401, not 403. */
  UNAUTHENTICATED: { wbem: 0x80041003, http: 401, exit: 4, summary: 'not authenticated' },
  TYPE_MISMATCH: { wbem: 0x80041005, http: 400, exit: 2, summary: 'type mismatch' },
  INVALID_PARAMETER: { wbem: 0x80041008, http: 400, exit: 2, summary: 'invalid parameter' },
  // 405: the class or object does not allow this (a 5xx would say the server failed, and it did not).
  NOT_SUPPORTED: { wbem: 0x8004100c, http: 405, exit: 2, summary: 'not supported' },
  INVALID_CLASS: { wbem: 0x80041010, http: 404, exit: 2, summary: 'invalid class' },
  INVALID_QUERY: { wbem: 0x80041017, http: 400, exit: 2, summary: 'invalid query' },
  ALREADY_EXISTS: { wbem: 0x80041019, http: 409, exit: 5, summary: 'already exists' },
  /** An update carried a stale SedoObjectVersion. */
  STALE_OBJECT: { wbem: 0x80041001, http: 412, exit: 5, summary: 'object changed since it was read' },
  /** Only the package's SourceSite may refresh or change its content. */
  NOT_SOURCE_SITE: { wbem: 0x80041003, http: 409, exit: 4, summary: 'package owned by another site' },
  SOURCE_NOT_FOUND: { wbem: 0x80070002, http: 422, exit: 6, summary: 'package source missing' },
  SOURCE_ACCESS_DENIED: { wbem: 0x80070005, http: 422, exit: 6, summary: 'package source unreadable' },
  SOURCE_CHANGING: {
    wbem: 0x80070020,
    http: 409,
    exit: 6,
    summary: 'package source kept changing while read',
  },
  UNSAFE_PATH: { wbem: 0x8007007b, http: 422, exit: 6, summary: 'unsafe file name in source' },
  NO_SOURCE: { wbem: 0x80041008, http: 400, exit: 2, summary: 'package has no source' },
  HASH_MISMATCH: { wbem: 0x80070017, http: 422, exit: 7, summary: 'content hash mismatch' },
  MISSING_CHUNKS: { wbem: 0x80070490, http: 409, exit: 7, summary: 'chunks missing on distribution point' },
  DISK_FULL: { wbem: 0x80070070, http: 507, exit: 7, summary: 'not enough space' },
  DP_UNAVAILABLE: { wbem: 0x80070035, http: 503, exit: 7, summary: 'distribution point unreachable' },
  /** A parent or child site did not answer (replication and status are retried with backoff). */
  SITE_UNAVAILABLE: { wbem: 0x80070035, http: 503, exit: 7, summary: 'site server unreachable' },
  CANCELLED: { wbem: 0x800704c7, http: 409, exit: 8, summary: 'operation cancelled' },
  CORRUPT_DATA: { wbem: 0x8007000d, http: 500, exit: 7, summary: 'stored data is corrupt' },
} as const;

export type ErrorCode = keyof typeof ErrorCatalog;

export interface ErrorDetails {
  /** The field, property or parameter at fault. */
  readonly field?: string;
  /** The file or object path at fault. */
  readonly path?: string;
  readonly [key: string]: unknown;
}

export class SitecastError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SitecastError';
    this.code = code;
    this.details = details;
  }

  get wbem(): number {
    return ErrorCatalog[this.code].wbem;
  }

  get httpStatus(): number {
    return ErrorCatalog[this.code].http;
  }

  get exitCode(): number {
    return ErrorCatalog[this.code].exit;
  }

  /** The code as admins see it: `0x80041002`. */
  get hex(): string {
    return toHex(this.wbem);
  }

  toJSON(): { code: string; name: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.hex, name: this.code, message: this.message, details: this.details };
  }
}

export function toHex(code: number): string {
  return '0x' + (code >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

export function isSitecastError(e: unknown, code?: ErrorCode): e is SitecastError {
  return e instanceof SitecastError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a SitecastError, keeping Node's errno meaning where it has one. */
export function toSitecastError(e: unknown, context = ''): SitecastError {
  if (e instanceof SitecastError) return e;
  const prefix = context ? `${context}: ` : '';
  const err = e as NodeJS.ErrnoException;
  const path = typeof err?.path === 'string' ? err.path : undefined;
  const details = path ? { path } : {};
  switch (err?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new SitecastError(
        'DISK_FULL',
        `${prefix}no space left on device${path ? ` (${path})` : ''}`,
        details,
        { cause: e },
      );
    case 'ENOENT':
      return new SitecastError('SOURCE_NOT_FOUND', `${prefix}${path ?? 'file'} does not exist`, details, {
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
      return new SitecastError(
        'SOURCE_ACCESS_DENIED',
        `${prefix}permission denied${path ? ` on ${path}` : ''}`,
        details,
        { cause: e },
      );
    case 'ABORT_ERR':
      return new SitecastError('CANCELLED', `${prefix}cancelled`, details, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new SitecastError('FAILED', `${prefix}${message}`, details, { cause: e });
}
