/** Reading route input: each problem is INVALID_PARAMETER naming the field, never a crash. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { MANIFEST_DELTA_MEDIA_TYPE } from '../../content/index.js';
import { SitecastError } from '../../kernel/index.js';

/** The raw body, required to be of `type`. */
export function bodyOf(
  request: FastifyRequest,
  type: 'application/json' | 'application/octet-stream' | typeof MANIFEST_DELTA_MEDIA_TYPE,
): Buffer {
  const given = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (given !== type) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `Content-Type must be ${type}, not ${JSON.stringify(given)}`,
      {
        field: 'content-type',
      },
    );
  }
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

export function jsonBodyOf<S extends z.ZodType>(request: FastifyRequest, schema: S): z.infer<S> {
  const raw = bodyOf(request, 'application/json');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new SitecastError('INVALID_PARAMETER', `body is not valid JSON: ${(e as Error).message}`, {
      field: 'body',
    });
  }
  return parsed(schema, json, 'body');
}

/** `value` checked by `schema`; the message names the first offending field under `where`. */
export function parsed<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = [where, ...issue.path.map(String)].join('.');
  throw new SitecastError('INVALID_PARAMETER', `${field}: ${issue.message}`, {
    field: issue.path.map(String).join('.') || where,
  });
}

/** Aborted when the client goes away before its answer was sent (the site cancelled or died). */
export function connectionSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}
