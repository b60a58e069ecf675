import { z } from 'zod';
import { SitecastError } from '../kernel/index.js';
import type { JobRow } from './job.repository.js';
import { JobStates, type EnqueueRequest, type Job } from './types.js';

const enqueueRequestSchema = z.object({
  kind: z.string().trim().min(1).max(64),
  key: z.string().min(1).max(512),
  packageId: z.string().min(1).max(8).nullable().optional(),
  payload: z.unknown().optional(),
  priority: z.number().int().min(1).max(3).optional(),
  runAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  maxAttempts: z.number().int().min(1).max(1000).optional(),
});

/** Checks a request at the queue's edge; the error names the field at fault. */
export function parseEnqueueRequest(req: EnqueueRequest): EnqueueRequest {
  const r = enqueueRequestSchema.safeParse(req);
  if (r.success) return req;
  const issue = r.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'request';
  throw new SitecastError('INVALID_PARAMETER', `job ${field}: ${issue?.message ?? 'invalid'}`, { field });
}

/** The payload as stored: JSON text. */
export function serialisePayload(payload: unknown, key: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload ?? null);
  } catch (e) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `job ${key}: payload is not JSON-serialisable: ${(e as Error).message}`,
      { field: 'payload' },
    );
  }
  if (text === undefined)
    throw new SitecastError('INVALID_PARAMETER', `job ${key}: payload is not JSON-serialisable`, {
      field: 'payload',
    });
  return text;
}

const stateSchema = z.enum(JobStates);

export function toJob(row: JobRow): Job {
  const state = stateSchema.safeParse(row.state);
  if (!state.success)
    throw new SitecastError('CORRUPT_DATA', `job #${row.id} has unknown state '${row.state}'`, {
      field: 'state',
    });
  let payload: unknown;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    throw new SitecastError('CORRUPT_DATA', `job #${row.id} has a payload that is not JSON`, {
      field: 'payload',
    });
  }
  return {
    id: Number(row.id),
    kind: row.kind,
    key: row.key,
    packageId: row.package_id,
    payload,
    priority: Number(row.priority),
    state: state.data,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    runAt: Number(row.run_at),
    lastError: row.last_error,
    leaseOwner: row.lease_owner,
    leaseExpires: row.lease_expires === null ? null : Number(row.lease_expires),
    cancelRequested: Number(row.cancel_requested) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Best first: the order claims take. */
export function compareJobs(a: Job, b: Job): number {
  return a.priority - b.priority || a.runAt - b.runAt || a.id - b.id;
}
