import {
  sql,
  type Expression,
  type ExpressionBuilder,
  type Insertable,
  type Kysely,
  type Selectable,
  type SqlBool,
} from 'kysely';
import type { Database, DialectCapabilities, JobTable } from '../db/index.js';
import type { ConcurrencyLimits, JobFilter, JobState } from './types.js';

export type JobRow = Selectable<JobTable>;
export type NewJobRow = Insertable<JobTable>;

/**
 * Who must hold a running job for a transition to apply: the worker named in the lease, or anyone once the
 * lease has expired (the reaper). A guard, not a read, so a transition never lands on a job that changed
 * hands in between.
 */
export type Holder = { readonly owner: string } | { readonly expiredAt: number };

/** `pg_advisory_xact_lock` key serialising claims across processes sharing one PostgreSQL database. */
const claimLockKey = 0x5c_a5_7001;

const finishedStates: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** All SQL of the job queue. Every transition is one guarded statement, so it is atomic on both dialects. */
export class JobRepository {
  readonly #db: Kysely<Database>;
  readonly #capabilities: DialectCapabilities;

  constructor(db: Kysely<Database>, capabilities: DialectCapabilities) {
    this.#db = db;
    this.#capabilities = capabilities;
  }

  /** Inserts a queued job unless one with the same key is queued already (the partial unique index). */
  async insertQueued(values: NewJobRow, exec: Kysely<Database> = this.#db): Promise<number | undefined> {
    const row = await exec
      .insertInto('job')
      .values(values)
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    return row?.id;
  }

  /** Folds a request into the queued job of its key: earlier run-at, higher priority, newer payload. */
  async coalesceQueued(
    key: string,
    c: {
      readonly payload: string;
      readonly packageId: string | null;
      readonly priority: number;
      readonly runAt: number;
      readonly maxAttempts: number;
      readonly now: number;
    },
    exec: Kysely<Database> = this.#db,
  ): Promise<number | undefined> {
    const row = await exec
      .updateTable('job')
      .set({
        payload: c.payload,
        package_id: sql<string | null>`coalesce(${c.packageId}, package_id)`,
        priority: sql<number>`case when priority < ${c.priority} then priority else ${c.priority} end`,
        run_at: sql<number>`case when run_at < ${c.runAt} then run_at else ${c.runAt} end`,
        max_attempts: sql<number>`case when max_attempts > ${c.maxAttempts} then max_attempts else ${c.maxAttempts} end`,
        updated_at: c.now,
      })
      .where('key', '=', key)
      .where('state', '=', 'queued')
      .returning('id')
      .executeTakeFirst();
    return row?.id;
  }

  /**
   * Claims up to `max` due jobs in one statement: best first (priority, run_at, id), none whose key is
   * running, within the concurrency limits. The limits are evaluated in SQL with window functions: a
   * package may start its first `perPackage − running` candidates, and packages not yet running are
   * admitted in order of their best candidate while distinct running packages stay under `packages`.
   * Any subset of that set respects the limits, so taking its first `max` rows (and, on PostgreSQL,
   * skipping rows another transaction holds) is safe. SQLite's single writer makes the statement atomic;
   * PostgreSQL takes a transaction-scoped advisory lock first so the counts hold across processes.
   */
  async claim(p: {
    readonly owner: string;
    readonly max: number;
    readonly now: number;
    readonly leaseExpires: number;
    readonly limits: ConcurrencyLimits;
    readonly kinds?: readonly string[] | undefined;
  }): Promise<JobRow[]> {
    if (p.max <= 0 || p.kinds?.length === 0) return [];
    const kindFilter = p.kinds ? sql`and j.kind in (${sql.join(p.kinds)})` : sql``;
    const lock = this.#capabilities.skipLocked ? sql`for update skip locked` : sql``;
    // The locking select sits in a MATERIALIZED CTE so PostgreSQL evaluates it once: as a subquery of
    // the UPDATE it may be re-run per row, skip rows this statement already updated, and exceed `max`.
    const statement = sql<JobRow>`
      with running as (
        select package_id, count(*) as n
          from job
         where state = 'running' and package_id is not null
         group by package_id
      ),
      eligible as (
        select j.id, j.package_id, j.priority, j.run_at,
               row_number() over (partition by j.package_id order by j.priority, j.run_at, j.id) as pkg_rank,
               coalesce(r.n, 0) as pkg_running
          from job j
          left join running r on r.package_id = j.package_id
         where j.state = 'queued' and j.run_at <= ${p.now} ${kindFilter}
           and not exists (select 1 from job x where x.state = 'running' and x.key = j.key)
      ),
      newcomers as (
        select package_id, row_number() over (order by priority, run_at, id) as new_rank
          from eligible
         where package_id is not null and pkg_rank = 1 and pkg_running = 0
      ),
      picked as (
        select e.id
          from eligible e
          left join newcomers c on c.package_id = e.package_id
         where e.package_id is null
            or (e.pkg_rank <= ${p.limits.perPackage} - e.pkg_running
                and (e.pkg_running > 0
                     or c.new_rank <= ${p.limits.packages} - (select count(*) from running)))
      ),
      claimable as materialized (
        select j.id
          from job j
         where j.state = 'queued' and j.id in (select id from picked)
         order by j.priority, j.run_at, j.id
         limit ${p.max}
         ${lock}
      )
      update job
         set state = 'running', lease_owner = ${p.owner}, lease_expires = ${p.leaseExpires},
             attempts = attempts + 1, updated_at = ${p.now}
       where state = 'queued' and id in (select id from claimable)
      returning *`;
    if (this.#capabilities.name !== 'postgres') return (await statement.execute(this.#db)).rows;
    return this.#db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${claimLockKey}::bigint)`.execute(trx);
      return (await statement.execute(trx)).rows;
    });
  }

  /** Extends the lease if `owner` still holds the running job. */
  async extendLease(
    id: number,
    owner: string,
    leaseExpires: number,
    now: number,
  ): Promise<{ readonly cancelRequested: boolean } | undefined> {
    const row = await this.#db
      .updateTable('job')
      .set({ lease_expires: leaseExpires, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', owner)
      .returning('cancel_requested')
      .executeTakeFirst();
    return row && { cancelRequested: row.cancel_requested === 1 };
  }

  /** Ends a running job held by `holder`; `cancelRequested` narrows to jobs with (1) or without (0) a cancel. */
  async finish(
    id: number,
    holder: Holder,
    f: {
      readonly state: 'done' | 'failed' | 'cancelled';
      readonly lastError: string | null;
      readonly now: number;
      readonly cancelRequested?: 0 | 1;
    },
  ): Promise<boolean> {
    let q = this.#db
      .updateTable('job')
      .set({
        state: f.state,
        lease_owner: null,
        lease_expires: null,
        last_error: f.lastError,
        updated_at: f.now,
      })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where(heldBy(holder));
    if (f.cancelRequested !== undefined) q = q.where('cancel_requested', '=', f.cancelRequested);
    const r = await q.executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /**
   * Puts a running job back in the queue, unless it was cancelled or another job of its key is queued
   * already (the caller then supersedes it). False when nothing changed.
   */
  async requeue(
    id: number,
    holder: Holder,
    r: {
      readonly runAt: number;
      readonly attemptsDelta: number;
      readonly lastError: string | null;
      readonly now: number;
    },
  ): Promise<boolean> {
    try {
      const res = await this.#db
        .updateTable('job')
        .set({
          state: 'queued',
          lease_owner: null,
          lease_expires: null,
          run_at: r.runAt,
          attempts: sql<number>`attempts + ${r.attemptsDelta}`,
          last_error: r.lastError,
          updated_at: r.now,
        })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .where('cancel_requested', '=', 0)
        .where(heldBy(holder))
        .where((eb) => eb.not(eb.exists(queuedTwin(eb))))
        .executeTakeFirst();
      return res.numUpdatedRows > 0n;
    } catch (e) {
      // PostgreSQL: a twin was enqueued after this statement's snapshot; the caller supersedes instead.
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  /** Ends a running job in favour of the queued job of the same key, which will do the work. */
  async supersede(id: number, holder: Holder, lastError: string, now: number): Promise<boolean> {
    const res = await this.#db
      .updateTable('job')
      .set({
        state: 'cancelled',
        lease_owner: null,
        lease_expires: null,
        last_error: lastError,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('cancel_requested', '=', 0)
      .where(heldBy(holder))
      .where((eb) => eb.exists(queuedTwin(eb)))
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async isHeld(id: number, holder: Holder): Promise<boolean> {
    const row = await this.#db
      .selectFrom('job')
      .select('id')
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where(heldBy(holder))
      .executeTakeFirst();
    return row !== undefined;
  }

  async expiredRunning(now: number): Promise<JobRow[]> {
    return this.#db
      .selectFrom('job')
      .selectAll()
      .where('state', '=', 'running')
      .where('lease_expires', '<=', now)
      .orderBy('id')
      .execute();
  }

  /** Cancels queued jobs and flags running ones; returns how many were affected. */
  async cancel(match: JobFilter, now: number): Promise<number> {
    const queued = await this.#db
      .updateTable('job')
      .set({ state: 'cancelled', last_error: 'cancelled', updated_at: now })
      .where('state', '=', 'queued')
      .where(matching(match))
      .executeTakeFirst();
    const running = await this.#db
      .updateTable('job')
      .set({ cancel_requested: 1, updated_at: now })
      .where('state', '=', 'running')
      .where('cancel_requested', '=', 0)
      .where(matching(match))
      .executeTakeFirst();
    return Number(queued.numUpdatedRows + running.numUpdatedRows);
  }

  async expedite(match: JobFilter, now: number): Promise<number> {
    const r = await this.#db
      .updateTable('job')
      .set({ run_at: now, updated_at: now })
      .where('state', '=', 'queued')
      .where('run_at', '>', now)
      .where(matching(match))
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async findById(id: number): Promise<JobRow | undefined> {
    return this.#db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: JobFilter): Promise<JobRow[]> {
    return this.#db.selectFrom('job').selectAll().where(matching(filter)).orderBy('id').execute();
  }

  /** Jobs matching `filter` that are running, or queued and due at `now`. */
  async countPending(filter: JobFilter, now: number): Promise<number> {
    const row = await this.#db
      .selectFrom('job')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where(matching(filter))
      .where((eb) =>
        eb.or([eb('state', '=', 'running'), eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)])]),
      )
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Deletes finished jobs last updated at or before `before`. */
  async prune(before: number): Promise<number> {
    const r = await this.#db
      .deleteFrom('job')
      .where('state', 'in', finishedStates)
      .where('updated_at', '<=', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function heldBy(holder: Holder) {
  return (eb: ExpressionBuilder<Database, 'job'>): Expression<SqlBool> =>
    'owner' in holder ? eb('lease_owner', '=', holder.owner) : eb('lease_expires', '<=', holder.expiredAt);
}

/** The queued job with the same key as the `job` row being updated. */
function queuedTwin(eb: ExpressionBuilder<Database, 'job'>) {
  return eb
    .selectFrom('job as q')
    .select('q.id')
    .whereRef('q.key', '=', 'job.key')
    .where('q.state', '=', 'queued');
}

function matching(f: JobFilter) {
  return (eb: ExpressionBuilder<Database, 'job'>): Expression<SqlBool> => {
    const c: Expression<SqlBool>[] = [];
    if (f.state !== undefined) c.push(eb('state', '=', f.state));
    if (f.kind !== undefined) c.push(eb('kind', '=', f.kind));
    if (f.kinds !== undefined) c.push(f.kinds.length ? eb('kind', 'in', f.kinds) : sql<SqlBool>`1 = 0`);
    if (f.packageId !== undefined) c.push(eb('package_id', '=', f.packageId));
    if (f.key !== undefined) c.push(eb('key', '=', f.key));
    // substr, not LIKE: LIKE is case-insensitive on SQLite and treats % and _ in keys as wildcards.
    if (f.keyPrefix !== undefined)
      c.push(eb(sql<string>`substr(key, 1, ${[...f.keyPrefix].length})`, '=', f.keyPrefix));
    return eb.and(c);
  };
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
