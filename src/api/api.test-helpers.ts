/** An in-process site with the API on top (inject(), no socket) and a token per role. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createTestSite, type TestSite } from '../../test/support/site-fixture.js';
import type { DialectName } from '../../test/support/databases.js';
import { Roles } from '../auth/index.js';
import { createApiServer } from './api-server.js';

export const demoWim = fileURLToPath(new URL('../../test/fixtures/demo/install-v1.wim', import.meta.url));

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>>;
  readonly text: string;
  /** The parsed JSON body (undefined when there is none). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
  readonly json: any;
}

export interface CallOptions {
  /** Token to send; default the Full Administrator's; null sends none. */
  readonly token?: string | null;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiFixture {
  readonly t: TestSite;
  readonly app: FastifyInstance;
  readonly tokens: { readonly full: string; readonly ops: string; readonly reader: string };
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    options?: CallOptions,
  ): Promise<ApiResponse>;
  /** A folder package source with one file. */
  folderSource(name: string, content?: string): string;
  /** A copy of the demo WIM. */
  wimSource(name: string): string;
  close(): Promise<void>;
}

export async function createApiFixture(dialect: DialectName = 'sqlite'): Promise<ApiFixture> {
  const t = await createTestSite(dialect);
  const app = await createApiServer(t.site);
  const token = async (name: string, role: (typeof Roles)[keyof typeof Roles]): Promise<string> =>
    (await t.site.tokens.create({ name, role })).token;
  const tokens = {
    full: await token('admin', Roles.FullAdministrator),
    ops: await token('operator', Roles.OperationsAdministrator),
    reader: await token('analyst', Roles.ReadOnlyAnalyst),
  };
  return {
    t,
    app,
    tokens,
    async call(method, url, options = {}) {
      const token = options.token === undefined ? tokens.full : options.token;
      const res = await app.inject({
        method,
        url,
        headers: {
          ...(token !== null && { authorization: `Bearer ${token}` }),
          ...(options.body !== undefined && { 'content-type': 'application/json' }),
          ...options.headers,
        },
        ...(options.body !== undefined && { payload: JSON.stringify(options.body) }),
      });
      let json: unknown;
      try {
        json = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: res.headers, text: res.body, json };
    },
    folderSource(name, content = `content of ${name}`) {
      const dir = join(t.dir, 'sources', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'file.txt'), content);
      return dir;
    },
    wimSource(name) {
      mkdirSync(join(t.dir, 'sources'), { recursive: true });
      const path = join(t.dir, 'sources', `${name}.wim`);
      copyFileSync(demoWim, path);
      return path;
    },
    async close() {
      await app.close();
      await t.close();
    },
  };
}
