/** The real `sitecast` executable, spawned through tsx from source (nothing is built). */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const wimV2 = join(root, 'test/fixtures/demo/install-v2.wim');
const tmp = mkdtempSync(join(tmpdir(), 'sitecast-bin-'));

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sitecast(args: readonly string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/app/bin.ts', ...args],
      {
        cwd: root,
        env: { ...process.env, SITECAST_HOME: join(tmp, 'home'), SITECAST_CHUNKER_THREADS: '1' },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bin: sitecast', () => {
  it('prints help and exits 0', async () => {
    const r = await sitecast(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: sitecast/);
    expect(r.stdout).toMatch(/demo/);
  });

  it('exits with the catalog code of an error, without a stack trace', async () => {
    const r = await sitecast(['package', 'show', 'PS100042']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error 0x80041002 NOT_FOUND: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('runs the demo end to end: exit 0, and every DP presents install-v2.wim byte for byte', async () => {
    const dir = join(tmp, 'demo');
    const started = Date.now();
    const r = await sitecast(['demo', '--dir', dir]);
    const elapsed = Date.now() - started;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/All 5 DPs serve SourceVersion 2, byte-identical to the source/);
    const id = /\n {2}(PS1[0-9A-F]{5})\n/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    for (const dp of ['DP01', 'DP02', 'DP03']) {
      expect(sha256(join(dir, 'dps', dp, id!, 'install.wim'))).toBe(sha256(wimV2));
    }
    // The two DP agents (remote DPs over HTTP) keep their trees under agents/.
    for (const dp of ['DP04', 'DP05']) {
      expect(sha256(join(dir, 'agents', dp, id!, 'install.wim'))).toBe(sha256(wimV2));
    }
    // The child site S01 received the new version from PS1 and put it on its own DP.
    expect(r.stdout).toMatch(/S01\/BR01\s+INSTALLED \(0\)\s+2\/2/);
    expect(sha256(join(dir, 'S01', 'dps', 'BR01', id!, 'install.wim'))).toBe(sha256(wimV2));
    expect(elapsed).toBeLessThan(60_000);
  });
});
