/**
 * `/AdminService/wmi/…`: one route that parses the resource path (resource-path.ts) and dispatches to the
 * class descriptions: collection and instance reads, create/update/delete, instance and static methods.
 * Writes and method calls are audited whatever their outcome, failed authentication included.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/index.js';
import { SitecastError } from '../kernel/index.js';
import type { ApiSite } from './api-site.js';
import { requirePermission, requirePrincipal } from './auth-hook.js';
import { type ApiClass, type ApiContext, type ApiMethod, type KeyValues } from './class-model.js';
import { findClass } from './class-registry.js';
import {
  etagOf,
  formatKey,
  getInstance,
  ifMatchAdmits,
  listInstancesJson,
  resolveKey,
} from './class-store.js';
import { checkParams } from './classes/method-params.js';
import { errorBody, returnValueOf, toApiError } from './error-handler.js';
import { metadataXml, serviceDocument } from './metadata.js';
import { requestState } from './request-state.js';
import type { CachedAnswer, ReadCache } from './read-cache.js';
import { parseResourcePath, type ResourcePath } from './resource-path.js';

export const wmiPrefix = '/AdminService/wmi';

export interface AdminRoutesOptions {
  readonly site: ApiSite;
  readonly log: (line: string) => void;
  /** Answers to reads, kept until the database changes. */
  readonly reads: ReadCache;
}

type Body = Readonly<Record<string, unknown>>;

export function registerAdminRoutes(app: FastifyInstance, { site, log, reads }: AdminRoutesOptions): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    // OData V4 (protocol §8.1.5): every response names the protocol version it was written in.
    void reply.header('OData-Version', '4.0');
    const rawPath = request.url.split('?')[0]!.slice(wmiPrefix.length).replace(/^\//, '');
    let path: ResourcePath;
    try {
      path = parseResourcePath(decodeURIComponent(rawPath));
    } catch (e) {
      requirePrincipal(request);
      if (e instanceof URIError) {
        throw new SitecastError('INVALID_PARAMETER', `resource path is not valid percent-encoding`, {
          field: 'path',
        });
      }
      throw e;
    }
    const r = new Route(site, log, reads, request, reply);
    return r.dispatch(path);
  };
  app.route({ method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'], url: wmiPrefix, handler });
  app.route({ method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'], url: `${wmiPrefix}/*`, handler });
}

/** One request against the class tree. */
class Route {
  private readonly base: string;

  constructor(
    private readonly site: ApiSite,
    private readonly log: (line: string) => void,
    private readonly reads: ReadCache,
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
  ) {
    this.base = `${wmiPrefix}/`;
  }

  async dispatch(path: ResourcePath): Promise<unknown> {
    const method = this.request.method;
    const state = requestState(this.request);
    if (path.kind === 'root' || path.kind === 'metadata') {
      state.route = path.kind === 'root' ? `${wmiPrefix}/` : `${wmiPrefix}/$metadata`;
      requirePrincipal(this.request);
      this.only(method, 'GET', path.kind === 'root' ? 'the service document' : '$metadata');
      if (path.kind === 'root') return serviceDocument(this.base);
      return this.reply.type('application/xml').send(metadataXml());
    }
    state.route = `${wmiPrefix}/{unknown}`;
    state.operation = `${method} ${path.className}`;
    // Reads need the caller at once; writes and methods check inside audited(), so a refused one is logged.
    if (method === 'GET') requirePrincipal(this.request);
    const cls = this.authenticated(() => findClass(path.className));
    switch (path.kind) {
      case 'collection':
        state.route = `${wmiPrefix}/${cls.name}`;
        if (method === 'POST') return this.create(cls);
        this.authenticated(() => this.only(method, 'GET', cls.name));
        return this.list(cls);
      case 'instance': {
        state.route = `${wmiPrefix}/${cls.name}({key})`;
        const key = this.authenticated(() => resolveKey(cls, path.key));
        if (method === 'GET') return this.one(cls, key);
        if (method === 'DELETE') return this.remove(cls, key);
        return this.update(cls, key);
      }
      case 'static-method':
      case 'instance-method': {
        const instance = path.kind === 'instance-method';
        state.route = `${wmiPrefix}/${cls.name}${instance ? '({key})/AdminService.' : '.'}${path.method}`;
        this.authenticated(() => this.only(method, 'POST', `${cls.name}.${path.method}`));
        return this.invoke(
          cls,
          path.method,
          instance ? this.authenticated(() => resolveKey(cls, path.key)) : undefined,
        );
      }
    }
  }

  /** Runs `parse`; if it fails, a caller without a token gets the 401 rather than learning what exists. */
  private authenticated<T>(parse: () => T): T {
    try {
      return parse();
    } catch (e) {
      requirePrincipal(this.request);
      throw e;
    }
  }

  private only(method: string, allowed: string, what: string): void {
    if (method !== allowed) {
      throw new SitecastError('NOT_SUPPORTED', `${method} is not supported on ${what} (use ${allowed})`, {
        field: 'method',
      });
    }
  }

  private context(principal: Principal): ApiContext {
    return { site: this.site, principal, remoteAddress: this.request.ip };
  }

  private async list(cls: ApiClass): Promise<unknown> {
    requestState(this.request).operation = `GET ${cls.name}`;
    requirePermission(this.request, { action: 'read', className: cls.name });
    return this.send(
      await this.reads.answer(`list ${this.request.url}`, async () => {
        const { value, count } = await listInstancesJson(
          this.site,
          cls,
          this.request.query as Record<string, string>,
        );
        const context = JSON.stringify(`${this.base}$metadata#${cls.name}`);
        const counted = count === undefined ? '' : `,"@odata.count":${count}`;
        const head = Buffer.from(`{"@odata.context":${context}${counted},"value":`);
        return { body: Buffer.concat([head, value, Buffer.from('}')]) };
      }),
    );
  }

  private async one(cls: ApiClass, key: KeyValues): Promise<unknown> {
    requestState(this.request).operation = `GET ${cls.name}(${formatKey(key)})`;
    requirePermission(this.request, { action: 'read', className: cls.name });
    // An OData V4 client (it states OData-MaxVersion) gets the single entity the protocol defines;
    // scripts written for the AdminService get what it answers: the instance in a one-element value array.
    const v4 = this.request.headers['odata-maxversion'] !== undefined;
    return this.send(
      await this.reads.answer(`${v4 ? 'entity' : 'one'} ${this.request.url}`, async () => {
        const record = await getInstance(this.site, cls, key);
        const select = (this.request.query as Record<string, unknown>).$select;
        const shown = typeof select === 'string' ? pick(record, cls, select) : record;
        const etag = etagOf(cls, record);
        const body = v4
          ? { '@odata.context': `${this.base}$metadata#${cls.name}/$entity`, '@odata.etag': etag, ...shown }
          : { '@odata.context': `${this.base}$metadata#${cls.name}`, value: [shown] };
        return { body: Buffer.from(JSON.stringify(body)), etag };
      }),
    );
  }

  /** A read's answer, already JSON text. */
  private send(answer: CachedAnswer): FastifyReply {
    if (answer.etag !== undefined) void this.reply.header('ETag', answer.etag);
    return this.reply.type('application/json; charset=utf-8').send(answer.body);
  }

  private async create(cls: ApiClass): Promise<unknown> {
    return this.audited(cls, 'create', null, null, async (principal) => {
      requirePermission(this.request, { action: 'write', className: cls.name, operation: 'create' });
      if (!cls.create) throw notSupported(cls, 'creating instances');
      const { key, extra } = await cls.create(this.context(principal), this.body());
      const record = await getInstance(this.site, cls, key);
      void this.reply
        .code(201)
        .header('Location', `${this.base}${cls.name}(${encodeURIComponent(formatKey(key))})`);
      const etag = etagOf(cls, record);
      void this.reply.header('ETag', etag);
      return {
        target: auditTarget(key),
        body: {
          '@odata.context': `${this.base}$metadata#${cls.name}/$entity`,
          '@odata.etag': etag,
          ...record,
          ...extra,
        },
      };
    });
  }

  private async update(cls: ApiClass, key: KeyValues): Promise<unknown> {
    return this.audited(cls, 'update', key, null, async (principal) => {
      requirePermission(this.request, { action: 'write', className: cls.name, operation: 'update' });
      if (!cls.update) throw notSupported(cls, 'updating instances');
      const ifMatch = await this.checkIfMatch(cls, key);
      const newKey = await cls.update(this.context(principal), key, this.body(), ifMatch);
      const record = await getInstance(this.site, cls, newKey);
      const etag = etagOf(cls, record);
      void this.reply.header('ETag', etag);
      return {
        target: auditTarget(newKey),
        body: {
          '@odata.context': `${this.base}$metadata#${cls.name}/$entity`,
          '@odata.etag': etag,
          ...record,
        },
      };
    });
  }

  private async remove(cls: ApiClass, key: KeyValues): Promise<unknown> {
    return this.audited(cls, 'delete', key, null, async (principal) => {
      requirePermission(this.request, { action: 'write', className: cls.name, operation: 'delete' });
      if (!cls.delete) throw notSupported(cls, 'deleting instances');
      await this.checkIfMatch(cls, key);
      await cls.delete(this.context(principal), key);
      void this.reply.code(204);
      return { target: auditTarget(key), body: undefined };
    });
  }

  /** Instance exists (NOT_FOUND otherwise); a stale If-Match is STALE_OBJECT (412). */
  private async checkIfMatch(cls: ApiClass, key: KeyValues): Promise<string | undefined> {
    const current = await getInstance(this.site, cls, key);
    const header = this.request.headers['if-match'];
    if (header === undefined) return undefined;
    const etag = etagOf(cls, current);
    if (!ifMatchAdmits(header, etag)) {
      throw new SitecastError(
        'STALE_OBJECT',
        `${cls.name}(${formatKey(key)}) changed since it was read (If-Match ${header}, now ${etag}); read it again and retry`,
        { field: 'If-Match', current: etag },
      );
    }
    return header.trim() === '*' ? undefined : etag;
  }

  private async invoke(cls: ApiClass, name: string, key: KeyValues | undefined): Promise<unknown> {
    const method = findMethod(cls, name);
    const op = `${cls.name}.${method?.name ?? name}`;
    requestState(this.request).operation = op;
    try {
      return await this.audited(cls, 'method', key ?? null, method?.name ?? name, async (principal) => {
        if (!method)
          throw new SitecastError('NOT_SUPPORTED', `${cls.name} has no method ${name}${methodList(cls)}`, {
            field: 'method',
          });
        requirePermission(this.request, { action: 'method', className: cls.name, method: method.name });
        if (method.binding === 'static' && key) {
          throw new SitecastError(
            'INVALID_PARAMETER',
            `${op} is a static method: POST ${this.base}${cls.name}.${method.name}`,
            { field: 'method' },
          );
        }
        if (method.binding === 'instance' && !key) {
          throw new SitecastError(
            'INVALID_PARAMETER',
            `${op} is an instance method: POST ${this.base}${cls.name}('<key>')/AdminService.${method.name}`,
            { field: 'method' },
          );
        }
        if (key) await getInstance(this.site, cls, key);
        const params = checkParams(cls.name, method, this.body());
        const out = await method.run(this.context(principal), params, key);
        void this.reply.code(201);
        return { target: key ? auditTarget(key) : null, body: { ReturnValue: 0, ...out } };
      });
    } catch (e) {
      // A failed method answers with its code in ReturnValue as well as in the error.
      const { error, status } = toApiError(e);
      void this.reply.code(status);
      return { ReturnValue: returnValueOf(error), ...errorBody(error, op) };
    }
  }

  /** Runs a write or method and records it in the audit log, success or failure. */
  private async audited(
    cls: ApiClass,
    action: 'create' | 'update' | 'delete' | 'method',
    key: KeyValues | null,
    method: string | null,
    work: (principal: Principal) => Promise<{ target: string | null; body: unknown }>,
  ): Promise<unknown> {
    const state = requestState(this.request);
    if (action !== 'method') state.operation = `${action} ${cls.name}${key ? `(${formatKey(key)})` : ''}`;
    const entry = { action, className: cls.name, method, remoteAddress: this.request.ip };
    try {
      const principal = requirePrincipal(this.request);
      const { target, body } = await work(principal);
      await this.record({ ...entry, principal, target, result: 0, detail: null });
      return body;
    } catch (e) {
      const { error } = toApiError(e);
      await this.record({
        ...entry,
        principal: state.principal ?? null,
        target: key ? auditTarget(key) : null,
        result: returnValueOf(error),
        detail: `${error.code}: ${error.message}`,
      });
      throw e;
    }
  }

  private async record(entry: Parameters<ApiSite['audit']['record']>[0]): Promise<void> {
    try {
      await this.site.audit.record(entry);
    } catch (e) {
      // The change itself happened (or failed) already; losing its audit line must be visible, not fatal.
      this.log(`audit log: could not record ${entry.action} ${entry.className}: ${(e as Error).message}`);
    }
  }

  private body(): Body {
    const b = this.request.body;
    if (b === undefined || b === null) return {};
    if (typeof b !== 'object' || Array.isArray(b)) {
      throw new SitecastError('INVALID_PARAMETER', 'the request body must be a JSON object', {
        field: 'body',
      });
    }
    return b as Body;
  }
}

/** The audit log's target: the bare key value, or `Name=value,…` for a composite key. */
function auditTarget(key: KeyValues): string {
  const entries = Object.entries(key);
  return entries.length === 1 ? String(entries[0]![1]) : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

function findMethod(cls: ApiClass, name: string): ApiMethod | undefined {
  return cls.methods?.find((m) => m.name.toLowerCase() === name.toLowerCase());
}

function methodList(cls: ApiClass): string {
  const names = (cls.methods ?? []).map((m) => m.name);
  return names.length ? ` (methods: ${names.join(', ')})` : ' (it has no methods)';
}

function notSupported(cls: ApiClass, what: string): SitecastError {
  return new SitecastError('NOT_SUPPORTED', `${cls.name} does not support ${what}`, { field: 'class' });
}

function pick(record: Record<string, unknown>, cls: ApiClass, select: string): Record<string, unknown> {
  const names = select.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!Object.hasOwn(cls.properties, n)) {
      throw new SitecastError('INVALID_QUERY', `$select: ${cls.name} has no property '${n}'`, {
        field: '$select',
        property: n,
      });
    }
  }
  return Object.fromEntries(names.map((n) => [n, record[n] ?? null]));
}
