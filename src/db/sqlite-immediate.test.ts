import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { bumpCounter } from '../../test/support/sqlite-bump.js';
import { openDatabase } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'sitecast-sqlite-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bumper = fileURLToPath(new URL('../../test/support/sqlite-bumper.ts', import.meta.url));

it('lets two processes run read-then-write transactions on one SQLite file without "database is locked"', async () => {
  const file = join(dir, 'site.db');
  const site = await openDatabase(file);
  try {
    await site.db.insertInto('counter').values({ name: 'n', value: 0 }).execute();
    const runs = 150;
    const child = spawn(process.execPath, ['--import', 'tsx', bumper, file, String(runs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Start ours once the child is writing too, so the two really overlap.
    while (
      Number((await site.db.selectFrom('counter').select('value').executeTakeFirstOrThrow()).value) === 0
    ) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // With a deferred BEGIN, a transaction whose snapshot went stale fails its first write with
    // SQLITE_BUSY at once; BEGIN IMMEDIATE makes it wait its turn instead.
    for (let i = 0; i < runs; i++) await bumpCounter(site.db);
    expect(await exited, out).toBe(0);
    expect(out).toContain('ok');
    const final = await site.db.selectFrom('counter').select('value').executeTakeFirstOrThrow();
    expect(final.value).toBe(2 * runs);
  } finally {
    await site.close();
  }
}, 60_000);
