/**
 * The one mapping of failures to AdminService JSON: `{"error": {"code": "0x80041002", "message", "details":
 * [SMS_ExtendedStatus-like]}}` with the catalog's HTTP status; method calls carry the code in ReturnValue too.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { SitecastError, toSitecastError } from '../kernel/index.js';
import { requestState } from './request-state.js';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly name: string;
    readonly message: string;
    readonly details: readonly Record<string, unknown>[];
  };
}

/** Anything thrown → a SitecastError; fastify's own 4xx (bad JSON, wrong media type) stay 4xx. */
export function toApiError(e: unknown): { error: SitecastError; status: number } {
  if (e instanceof SitecastError) return { error: e, status: e.httpStatus };
  const fe = e as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const error = new SitecastError('INVALID_PARAMETER', fe.message ?? 'bad request', { field: 'body' });
    return { error, status: fe.statusCode };
  }
  const error = toSitecastError(e);
  return { error, status: error.httpStatus };
}

/** The code as a method's ReturnValue: the WBEM/HRESULT value as a signed 32-bit integer. */
export function returnValueOf(error: SitecastError): number {
  return error.wbem | 0;
}

export function errorBody(error: SitecastError, operation: string | undefined): ErrorBody {
  const { field, ...rest } = error.details;
  return {
    error: {
      code: error.hex,
      name: error.code,
      message: error.message,
      details: [
        {
          ErrorCode: returnValueOf(error),
          Description: error.message,
          Operation: operation ?? '',
          ParameterInfo: typeof field === 'string' ? field : '',
          ProviderName: 'sitecast',
          ...rest,
        },
      ],
    },
  };
}

/** Installs the error and not-found handlers; 5xx failures are logged with the request line. */
export function installErrorHandler(app: FastifyInstance, log: (line: string) => void): void {
  app.setErrorHandler((e, request, reply) => {
    const { error, status } = toApiError(e);
    if (status >= 500) log(`${request.method} ${request.url}: ${error.hex} ${error.message}`);
    void reply.code(status).send(errorBody(error, requestState(request).operation));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply) => {
    const error = new SitecastError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, {
      field: 'path',
    });
    void reply.code(404).send(errorBody(error, undefined));
  });
}
