/**
 * A real folder DP (FolderDpStore) with packages activated through the DP protocol, and a Fastify app
 * serving it through `contentRoutes`, for the content tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Clock } from '../../kernel/index.js';
import { FolderDpStore } from '../local-folder/folder-dp-store.js';
import {
  buildVersion,
  chunksOf,
  type BuiltVersion,
  type FixtureFile,
} from '../local-folder/package-builder.test-helpers.js';
import { contentRoutes, type ContentResolver } from './content-routes.js';

export interface ContentFixture {
  readonly dir: string;
  readonly store: FolderDpStore;
  /** What the DP agent would pass: the presented link as the tree, the store's state as the version. */
  readonly resolver: ContentResolver;
  publish(
    packageId: string,
    version: number,
    files: readonly FixtureFile[],
    directories?: readonly string[],
  ): Promise<BuiltVersion>;
  app(token?: string, clock?: Pick<Clock, 'now'>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export async function contentFixture(): Promise<ContentFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'sitecast-content-'));
  const store = new FolderDpStore({ root: join(dir, 'dp'), create: true });
  const apps: FastifyInstance[] = [];
  const resolver: ContentResolver = {
    async resolve(packageId) {
      const state = await store.packageState(packageId);
      return state && { treeRoot: join(store.root, packageId), ...state };
    },
  };
  return {
    dir,
    store,
    resolver,
    async publish(packageId, version, files, directories = []) {
      const built = buildVersion(packageId, version, files, { chunkSize: 1024 * 1024, directories });
      await store.putChunks(packageId, chunksOf(built));
      await store.activate(packageId, version, built.manifestId, built.manifestBytes, {
        seedFromExisting: true,
      });
      return built;
    },
    async app(token, clock) {
      const app = Fastify();
      await app.register(contentRoutes, {
        prefix: '/content',
        resolve: (id) => resolver.resolve(id),
        ...(token === undefined ? {} : { token }),
        ...(clock && { clock }),
      });
      await app.ready();
      apps.push(app);
      return app;
    },
    async close() {
      for (const app of apps) await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The parts of a `multipart/byteranges` body, checked against the exact framing RFC 9110 §14.6 gives. */
export function parseByteranges(
  contentType: string,
  body: Buffer,
): { readonly contentRange: string; readonly contentType: string; readonly bytes: Buffer }[] {
  const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`not multipart/byteranges: ${contentType}`);
  const text = body.toString('latin1');
  const closing = `\r\n--${boundary}--\r\n`;
  if (!text.endsWith(closing)) throw new Error('multipart body does not end with the closing boundary');
  const pieces = text.slice(0, -closing.length).split(`\r\n--${boundary}\r\n`);
  const first = pieces.shift()!;
  if (!first.startsWith(`--${boundary}\r\n`))
    throw new Error('multipart body does not start with a boundary');
  pieces.unshift(first.slice(`--${boundary}\r\n`.length));
  return pieces.map((piece) => {
    const split = piece.indexOf('\r\n\r\n');
    const headers = Object.fromEntries(
      piece
        .slice(0, split)
        .split('\r\n')
        .map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
        }),
    );
    return {
      contentRange: String(headers['content-range']),
      contentType: String(headers['content-type']),
      bytes: Buffer.from(piece.slice(split + 4), 'latin1'),
    };
  });
}
