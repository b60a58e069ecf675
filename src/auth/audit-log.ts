import { SitecastError, type Clock } from '../kernel/index.js';
import type { AuditAction, AuditEntry, AuditRepository } from './audit.repository.js';
import type { Principal } from './roles.js';

export interface AuditRecordInput {
  readonly principal: Principal | null;
  readonly action: AuditAction;
  readonly className: string;
  readonly target?: string | null;
  readonly method?: string | null;
  /** ReturnValue or HRESULT (0 success); negative HRESULTs are kept as their unsigned 32-bit value. */
  readonly result: number;
  readonly detail?: string | null;
  readonly remoteAddress?: string | null;
}

export interface AuditFilter {
  /** Epoch ms: entries at or after it. */
  readonly since?: number;
  /** At most this many, newest first (default 100, at most 10000). */
  readonly limit?: number;
  /** Only this principal's entries (token name, case-insensitively). */
  readonly principal?: string;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
/** Longer details (an error message with a path, a property list) are cut: the log is not a dump. */
const MAX_DETAIL = 2000;
const auditActions: readonly string[] = ['create', 'update', 'delete', 'method'];

/**
 * Who changed what through the API and how it ended: one entry per create, update, delete or method call,
 * failed ones included. Reads are not logged (the HTTP access log has them).
 */
export class AuditLog {
  constructor(
    private readonly repo: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async record(entry: AuditRecordInput): Promise<void> {
    if (!auditActions.includes(entry.action)) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `audit action ${JSON.stringify(entry.action)} is not one of ${auditActions.join(', ')}`,
        {
          field: 'action',
        },
      );
    }
    if (!Number.isInteger(entry.result) || entry.result < -0x8000_0000 || entry.result > 0xffff_ffff) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `audit result ${entry.result} is not a 32-bit ReturnValue/HRESULT`,
        {
          field: 'result',
        },
      );
    }
    const detail = entry.detail ?? null;
    await this.repo.insert({
      time: this.clock.now(),
      principalName: entry.principal?.name ?? null,
      tokenId: entry.principal?.tokenId ?? null,
      action: entry.action,
      className: entry.className,
      target: entry.target ?? null,
      method: entry.method ?? null,
      // SInt32 ReturnValues and HRESULTs read the same way everywhere: 0x80041003, not -2147217405.
      result: entry.result >>> 0,
      detail: detail !== null && detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail,
      remoteAddress: entry.remoteAddress ?? null,
    });
  }

  /** Newest first. */
  async list(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const limit = filter.limit ?? DEFAULT_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `audit limit ${limit} must be an integer from 1 to ${MAX_LIMIT}`,
        {
          field: 'limit',
        },
      );
    }
    if (filter.since !== undefined && !Number.isFinite(filter.since)) {
      throw new SitecastError('INVALID_PARAMETER', `audit since ${filter.since} is not a time`, {
        field: 'since',
      });
    }
    return this.repo.list({
      limit,
      // Times are whole milliseconds; PostgreSQL would refuse a fraction for a bigint.
      ...(filter.since !== undefined && { since: Math.ceil(filter.since) }),
      ...(filter.principal !== undefined && { principal: filter.principal }),
    });
  }
}
