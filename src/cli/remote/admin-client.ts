/**
 * A small AdminService REST client: one method per HTTP verb on `/AdminService/wmi/…`, bearer token on
 * every request, and the server's error JSON turned back into the SitecastError it came from, so the CLI
 * prints the same `error 0x… CODE: message` and exits with the same code as a local run.
 */
import { ErrorCatalog, SitecastError, type ErrorCode } from '../../kernel/index.js';

export type SmsRecord = Readonly<Record<string, unknown>>;

export interface AdminClientOptions {
  /** Base URL of the site server, e.g. `https://site01:8080` (a trailing `/AdminService…` is accepted). */
  readonly server: string;
  readonly token: string;
  /** Aborts requests in flight (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Per request; a server that accepts the connection but never answers fails after it. Default 30 s. */
  readonly timeoutMs?: number;
}

/** A key as the resource path spells it: `('PS100001')`, `(5)` or `(K1='a',K2='b')`. */
export type KeyRef = string | number | Readonly<Record<string, string | number>>;

function literal(v: string | number): string {
  return typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`;
}

export function keyPath(key: KeyRef): string {
  if (typeof key !== 'object') return `(${literal(key)})`;
  return `(${Object.entries(key)
    .map(([k, v]) => `${k}=${literal(v)}`)
    .join(',')})`;
}

/** `'text'` as an OData string literal. */
export function odataString(text: string): string {
  return literal(text);
}

export class AdminClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #signal: AbortSignal | undefined;
  readonly #timeoutMs: number;

  constructor(options: AdminClientOptions) {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `--server ${JSON.stringify(options.server)} is not a URL (expected e.g. https://site01:8080)`,
        { field: 'server' },
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SitecastError('INVALID_PARAMETER', `--server ${options.server} must be an http(s) URL`, {
        field: 'server',
      });
    }
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/AdminService(\/wmi)?$/i, '')}`;
    this.#token = options.token;
    this.#signal = options.signal;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** GET Class?query → its `value` array. */
  async list(className: string, query: Readonly<Record<string, string>> = {}): Promise<SmsRecord[]> {
    const qs = new URLSearchParams(query).toString();
    const body = (await this.request('GET', `${className}${qs ? `?${qs}` : ''}`)) as { value?: SmsRecord[] };
    return body.value ?? [];
  }

  /** GET Class(key) → the instance with its lazy properties. */
  async get(className: string, key: KeyRef): Promise<SmsRecord> {
    const body = (await this.request('GET', `${className}${keyPath(key)}`)) as { value?: SmsRecord[] };
    const record = body.value?.[0];
    if (!record) throw new SitecastError('NOT_FOUND', `${className}${keyPath(key)} does not exist`);
    return record;
  }

  /** POST Class → the created instance (plus what the server adds once, e.g. a token's secret). */
  async create(className: string, body: SmsRecord): Promise<SmsRecord> {
    return (await this.request('POST', className, body)) as SmsRecord;
  }

  /** PATCH Class(key) → the instance as it is now. */
  async update(className: string, key: KeyRef, body: SmsRecord, etag?: string): Promise<SmsRecord> {
    return (await this.request('PATCH', `${className}${keyPath(key)}`, body, etag)) as SmsRecord;
  }

  async delete(className: string, key: KeyRef): Promise<void> {
    await this.request('DELETE', `${className}${keyPath(key)}`);
  }

  /** POST Class.Method (static) or Class(key)/AdminService.Method → the out parameters. */
  async call(className: string, method: string, params: SmsRecord = {}, key?: KeyRef): Promise<SmsRecord> {
    const path =
      key === undefined ? `${className}.${method}` : `${className}${keyPath(key)}/AdminService.${method}`;
    return (await this.request('POST', path, params)) as SmsRecord;
  }

  async request(method: string, path: string, body?: unknown, ifMatch?: string): Promise<unknown> {
    const url = `${this.baseUrl}/AdminService/wmi/${encodePath(path)}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(this.#token !== '' && { authorization: `Bearer ${this.#token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(ifMatch !== undefined && { 'if-match': ifMatch }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal,
      });
    } catch (e) {
      throw this.#unreachable(e, timeout.aborted);
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok) return json ?? {};
    const error = fromErrorBody(json, res.status, `${method} ${url}`);
    if (res.status !== 401) throw error;
    throw new SitecastError(
      error.code,
      `${this.baseUrl}: ${error.message} (give --token or set SITECAST_TOKEN; \`sitecast token create\` on the site server makes one)`,
      error.details,
    );
  }

  #unreachable(e: unknown, timedOut: boolean): SitecastError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = timedOut
      ? `no answer within ${this.#timeoutMs / 1000} s`
      : (cause?.code ?? cause?.message ?? (e as Error).message);
    if (!timedOut && this.#signal?.aborted) {
      return new SitecastError('CANCELLED', `request to ${this.baseUrl} interrupted`, { field: 'server' });
    }
    return new SitecastError(
      'SITE_UNAVAILABLE',
      `site server ${this.baseUrl} cannot be reached (${why}); check --server / SITECAST_SERVER and that \`sitecast server\` runs there`,
      { field: 'server', url: this.baseUrl },
      { cause: e },
    );
  }
}

/** Keys may hold any character: encode each segment but keep the path's own syntax readable. */
function encodePath(path: string): string {
  const [p, q] = path.split('?', 2) as [string, string | undefined];
  return `${encodeURI(p).replace(/#/g, '%23')}${q === undefined ? '' : `?${q}`}`;
}

/** The server's `{error: {code, name, message, details}}` → the SitecastError with the same code. */
export function fromErrorBody(json: unknown, status: number, what: string): SitecastError {
  const err = (json as { error?: { code?: string; name?: string; message?: string; details?: unknown } })
    ?.error;
  if (!err) {
    return new SitecastError('FAILED', `${what} answered HTTP ${status} without an AdminService error body`, {
      field: 'server',
      status,
    });
  }
  const detail = Array.isArray(err.details)
    ? (err.details[0] as Record<string, unknown> | undefined)
    : undefined;
  const field =
    typeof detail?.ParameterInfo === 'string' && detail.ParameterInfo !== ''
      ? detail.ParameterInfo
      : undefined;
  const code = codeOf(err.name, err.code, status);
  return new SitecastError(code, err.message ?? `HTTP ${status}`, { ...(field && { field }), status });
}

function codeOf(name: string | undefined, hex: string | undefined, status: number): ErrorCode {
  if (name !== undefined && Object.hasOwn(ErrorCatalog, name)) return name as ErrorCode;
  // An older or foreign server without `name`: the hex code and the HTTP status pick the entry.
  const wbem = hex === undefined ? NaN : Number(hex);
  const all = Object.keys(ErrorCatalog) as ErrorCode[];
  return (
    all.find((c) => ErrorCatalog[c].wbem === wbem && ErrorCatalog[c].http === status) ??
    all.find((c) => ErrorCatalog[c].wbem === wbem) ??
    'FAILED'
  );
}
