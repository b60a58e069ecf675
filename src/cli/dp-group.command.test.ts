import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256, testHome, wimV1, type TestHome } from './cli.test-helpers.js';

describe('sitecast dp-group (in-process, SQLite)', () => {
  let home: TestHome;
  beforeEach(() => {
    home = testHome();
  });
  afterEach(() => home.cleanup());

  it('distributes to a group with --dp-group, and a DP that joins later receives the package', async () => {
    const source = home.putSource(wimV1);
    const packageId = (await home.run(['image', 'new', '--name', 'Win11', '--path', source])).stdout.trim();
    for (const name of ['DP01', 'DP02', 'DP03']) {
      expect(
        (await home.run(['dp', 'add', '--name', name, '--path', join(home.dir, 'dps', name)])).code,
      ).toBe(0);
    }
    const created = await home.run(['dp-group', 'new', '--name', 'Branches', '--description', 'EU']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Branches created: \{[0-9A-F-]{36}\}/);
    expect((await home.run(['dp-group', 'add-dp', 'Branches', '--dp', 'DP01', '--dp', 'DP02'])).code).toBe(0);

    const sent = await home.run(['content', 'distribute', packageId, '--dp-group', 'branches', '--wait']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain(`${packageId}: distribution to group Branches queued`);
    expect(sent.stdout).toMatch(/DP01\s+INSTALLED \(0\)/);
    expect(sent.stdout).toMatch(/DP02\s+INSTALLED \(0\)/);

    // Queued only (no --wait): the package is targeted to DP03 but not there yet.
    expect((await home.run(['dp-group', 'add-dp', 'Branches', '--dp', 'DP03'])).code).toBe(0);
    const shown = await home.run(['--json', 'dp-group', 'show', 'Branches']);
    const detail = JSON.parse(shown.stdout) as {
      MemberCount: number;
      OutOfSyncContentCount: number;
      PackageIDs: string[];
    };
    expect(detail).toMatchObject({ MemberCount: 3, OutOfSyncContentCount: 1, PackageIDs: [packageId] });
    const refreshed = await home.run(['dp-group', 'refresh', 'Branches', '--wait']);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(sha256(join(home.dir, 'dps', 'DP03', packageId, 'install.wim'))).toBe(sha256(source));

    const list = await home.run(['dp-group', 'list']);
    expect(list.stdout).toMatch(/Branches\s+3\s+1/);
    const missing = await home.run(['dp-group', 'add-dp', 'Nope', '--dp', 'DP01']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(
      'error 0x80041002 NOT_FOUND: distribution point group "Nope" does not exist',
    );
    const none = await home.run(['content', 'distribute', packageId]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give at least one --dp or --dp-group');
  });
});
