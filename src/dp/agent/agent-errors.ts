/**
 * The agent's one error mapping: every failure becomes `{"error": {code, name, message, details}}` (the
 * SitecastError JSON the HTTP adapter turns back into the same error) with the catalog's HTTP status,
 * except authentication failures (401) and over-size bodies (413).
 */
import type { FastifyError, FastifyRequest } from 'fastify';
import { SitecastError } from '../../kernel/index.js';
import { isAuthFailure } from '../auth/index.js';

export interface MappedError {
  readonly status: number;
  readonly error: SitecastError;
}

export function mapAgentError(e: unknown, request: FastifyRequest): MappedError {
  if (isAuthFailure(e)) return { status: 401, error: e };
  if (e instanceof SitecastError) return { status: e.httpStatus, error: e };
  const code = (e as Partial<FastifyError> | undefined)?.code;
  const route = `${request.method} ${request.url.split('?')[0] ?? ''}`;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request.routeOptions.bodyLimit;
    return {
      status: 413,
      error: new SitecastError(
        'INVALID_PARAMETER',
        `request body of ${route} is larger than this agent's limit of ${limit} bytes (${(limit / 1048576).toFixed(0)} MiB): send smaller batches`,
        { field: 'body', limit },
      ),
    };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_EMPTY_TYPE') {
    return {
      status: 400,
      error: new SitecastError(
        'INVALID_PARAMETER',
        `${route}: Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted (application/json or application/octet-stream)`,
        { field: 'content-type' },
      ),
    };
  }
  const status = (e as Partial<FastifyError> | undefined)?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const message = e instanceof Error ? e.message : String(e);
    return {
      status: 400,
      error: new SitecastError('INVALID_PARAMETER', `${route}: ${message}`, { field: 'request' }),
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: 500, error: new SitecastError('FAILED', `${route}: ${message}`, {}, { cause: e }) };
}
