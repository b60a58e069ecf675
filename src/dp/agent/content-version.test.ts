import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSitecastError } from '../../kernel/index.js';
import { withCurrentVersion, type ContentResolver } from './content-version.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sitecast-content-version-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function tree(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  await writeFile(join(path, 'f.txt'), content);
  return path;
}

/** Points `<dir>/PKG` at `target` the way FolderDpStore does: a new link renamed over the old one. */
async function present(target: string): Promise<string> {
  const link = join(dir, 'PKG');
  await symlink(target, `${link}.tmp`);
  await rename(`${link}.tmp`, link);
  return link;
}

/** A resolver that answers from a script, one answer per call, repeating the last. */
function scripted(
  answers: ({ treeRoot: string; manifestId: string; version: number } | null)[],
): ContentResolver & {
  calls: number;
} {
  const r = {
    calls: 0,
    resolve() {
      const answer = answers[Math.min(r.calls, answers.length - 1)] ?? null;
      r.calls++;
      return Promise.resolve(answer);
    },
  };
  return r;
}

const readF = (v: { tree: string }) =>
  import('node:fs/promises').then((fs) => fs.readFile(join(v.tree, 'f.txt'), 'utf8'));

describe('withCurrentVersion', () => {
  it('never pairs a stale answer with the tree the link already moved to (FolderDpStore names)', async () => {
    await tree(`1-${A.slice(0, 16)}.00000001`, 'one');
    const link = await present(await tree(`2-${B.slice(0, 16)}.00000002`, 'two'));
    // The resolver still says version 1 on its first answer, as a store updating its index after the switch would.
    const resolver = scripted([
      { treeRoot: link, manifestId: A, version: 1 },
      { treeRoot: link, manifestId: B, version: 2 },
    ]);
    const seen = await withCurrentVersion(resolver, 'PKG', async (v) => ({ v, text: await readF(v) }));
    expect(seen.v).toMatchObject({ version: 2, manifestId: B });
    expect(seen.text).toBe('two');
  });

  it('checks trees named otherwise by asking the resolver again', async () => {
    const link = await present(await tree('two', 'two'));
    const resolver = scripted([
      { treeRoot: link, manifestId: A, version: 1 },
      { treeRoot: link, manifestId: B, version: 2 },
      { treeRoot: link, manifestId: B, version: 2 },
    ]);
    const seen = await withCurrentVersion(resolver, 'PKG', (v) => Promise.resolve(v));
    expect(seen).toMatchObject({ version: 2, manifestId: B });
    expect(resolver.calls).toBe(4); // A, then B on the re-check; B, then B again
  });

  it('starts again on the new version when the tree is deleted under the work', async () => {
    const one = await tree('one', 'one');
    const two = await tree('two', 'two');
    const link = await present(one);
    let state = { treeRoot: link, manifestId: A, version: 1 };
    const resolver: ContentResolver = { resolve: () => Promise.resolve(state) };
    const texts: string[] = [];
    const result = await withCurrentVersion(resolver, 'PKG', async (v) => {
      if (v.version === 1) {
        await present(two);
        state = { treeRoot: link, manifestId: B, version: 2 };
        await rm(one, { recursive: true });
      }
      const text = await readF(v);
      texts.push(text);
      return text;
    });
    expect(result).toBe('two');
    expect(texts).toEqual(['two']);
  });

  it('a package the DP does not hold is NOT_FOUND naming it', async () => {
    const error = await withCurrentVersion(scripted([null]), 'ABC00009', () => Promise.resolve(1)).catch(
      (e: unknown) => e,
    );
    expect(isSitecastError(error, 'NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain('ABC00009');
  });

  it('gives up with DP_UNAVAILABLE when every answer straddles a switch', async () => {
    const link = await present(await tree(`2-${B.slice(0, 16)}.00000002`, 'two'));
    const resolver = scripted([{ treeRoot: link, manifestId: A, version: 1 }]);
    const error = await withCurrentVersion(resolver, 'PKG', () => Promise.resolve(1)).catch(
      (e: unknown) => e,
    );
    expect(isSitecastError(error, 'DP_UNAVAILABLE')).toBe(true);
  });
});
