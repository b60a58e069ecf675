import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Capture, sha256, testHome, wimV1, type TestHome } from './cli.test-helpers.js';

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

describe('sitecast server', () => {
  let home: TestHome;
  beforeEach(() => {
    home = testHome();
  });
  afterEach(() => home.cleanup());

  it('does the work a `--wait --no-work` command only watches, logs timestamped lines, and stops gracefully', async () => {
    const source = home.putSource(wimV1);
    const id = (await home.run(['image', 'new', '--name', 'Served', '--path', source])).stdout.trim();
    expect((await home.run(['dp', 'add', '--name', 'DP01', '--path', join(home.dir, 'dp01')])).code).toBe(0);

    const stop = new AbortController();
    const log = new Capture();
    const server = home.run(['server', '--port', '0'], { shutdown: stop.signal, stdout: log });
    await until(() => log.text.includes('distribution manager running'), 'the server to start');

    const watched = await home.run(['content', 'distribute', id, '--dp', 'DP01', '--wait', '--no-work']);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/DP01\s+INSTALLED \(0\)\s+1\/1/);
    expect(sha256(join(home.dir, 'dp01', id, 'install.wim'))).toBe(sha256(wimV1));

    stop.abort();
    const ended = await server;
    expect(ended.code).toBe(0);
    const lines = log.text.trim().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    expect(log.text).toMatch(new RegExp(`finished refresh ${id}`));
    expect(log.text).toMatch(/transfer .*DP01/);
    expect(lines[lines.length - 1]).toMatch(/ stopped$/);
  });

  it('serves the AdminService REST API on --port beside the worker, over a real socket', async () => {
    const stop = new AbortController();
    const log = new Capture();
    const server = home.run(['server', '--port', '0', '--host', '127.0.0.1'], {
      shutdown: stop.signal,
      stdout: log,
    });
    await until(() => /REST API at http:\/\/127\.0\.0\.1:\d+/.test(log.text), 'the API to listen');
    const base = /REST API at (http:\/\/127\.0\.0\.1:\d+)/.exec(log.text)![1]!;
    const created = await home.run(['token', 'create', '--name', 'ci', '--role', 'readonly']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${base}/AdminService/wmi/SMS_Package`)).status).toBe(401);
    const sites = await fetch(`${base}/AdminService/wmi/SMS_Site`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(sites.status).toBe(200);
    expect(((await sites.json()) as { value: { SiteCode: string }[] }).value.map((s) => s.SiteCode)).toEqual([
      'PS1',
    ]);

    stop.abort();
    expect((await server).code).toBe(0);
    // Closed with the server: nothing listens any more.
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
