import { closeSync, copyFileSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256, testHome, wimV1, wimV2, type TestHome } from './cli.test-helpers.js';

interface StatusJson {
  SMS_ObjectContentExtraInfo: { SourceVersion: number; Targeted: number; NumberSuccess: number };
  SMS_PackageStatusDistPointsSummarizer: {
    ServerName: string;
    State: number;
    StateName: string;
    SourceVersion: number;
    BytesSent: number;
  }[];
  SMS_DistributionDPStatus: { MessageID: number; Text: string }[];
}

describe('sitecast CLI (in-process, SQLite)', () => {
  let home: TestHome;
  beforeEach(() => {
    home = testHome();
  });
  afterEach(() => home.cleanup());

  it('creates an image, distributes it, refreshes it after the WIM changed, and every DP ends on SourceVersion 2', async () => {
    const source = home.putSource(wimV1);
    const created = await home.run([
      'image',
      'new',
      '--name',
      'Win11 test',
      '--path',
      source,
      '--description',
      'cli test',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const packageId = created.stdout.trim();
    expect(packageId).toMatch(/^PS1[0-9A-F]{5}$/);

    for (const name of ['DP01', 'DP02']) {
      const r = await home.run(['dp', 'add', '--name', name, '--path', join(home.dir, 'dps', name)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`${name} added`);
    }

    const first = await home.run([
      'content',
      'distribute',
      packageId,
      '--dp',
      'DP01',
      '--dp',
      'DP02',
      '--wait',
    ]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/DP01\s+INSTALLED \(0\)\s+1\/1/);

    copyFileSync(wimV2, source);
    const refresh = await home.run(['dp', 'update', packageId, '--wait']);
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(refresh.stdout).toContain(`RefreshPkgSource ${packageId}: ReturnValue 0`);
    expect(refresh.stdout).toMatch(/DP02\s+INSTALLED \(0\)\s+2\/2/);

    const status = await home.run(['--json', 'status', packageId]);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as StatusJson;
    expect(parsed.SMS_ObjectContentExtraInfo).toMatchObject({
      SourceVersion: 2,
      Targeted: 2,
      NumberSuccess: 2,
    });
    const rows = parsed.SMS_PackageStatusDistPointsSummarizer;
    expect(rows.map((r) => [r.ServerName, r.StateName, r.SourceVersion])).toEqual([
      ['DP01', 'INSTALLED', 2],
      ['DP02', 'INSTALLED', 2],
    ]);
    // Delta: v2 differs from v1 in a few places, so far less than the whole file travelled.
    for (const r of rows) expect(r.BytesSent).toBeLessThan(statSync(wimV2).size / 2);
    expect(parsed.SMS_DistributionDPStatus.some((m) => m.MessageID === 2330)).toBe(true);
    for (const name of ['DP01', 'DP02']) {
      expect(sha256(join(home.dir, 'dps', name, packageId, 'install.wim'))).toBe(sha256(wimV2));
    }

    const human = await home.run(['status', packageId]);
    expect(human.stdout).toMatch(/SourceVersion/);
    expect(human.stdout).toMatch(/Latest status messages/);

    const validate = await home.run(['content', 'validate', packageId, '--dp', 'DP01', '--wait']);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stdout).toMatch(
      /OK: Package ".*" \(SourceVersion 2\) on distribution point "DP01" was validated/,
    );

    // A DP whose file was damaged fails validation (exit 7), and Redistribute repairs it.
    const dp2File = join(home.dir, 'dps', 'DP02', packageId, 'install.wim');
    const fd = openSync(dp2File, 'r+');
    writeSync(fd, Buffer.from('not what was sent'), 0, 17, 100_000);
    closeSync(fd);
    const broken = await home.run(['content', 'validate', packageId, '--dp', 'DP02', '--wait']);
    expect(broken.code).toBe(7);
    expect(broken.stdout).toMatch(
      /FAILED: Content validation of package .* on distribution point "DP02" failed/,
    );
    expect(broken.stderr).toMatch(/DP02 ended INSTALL_FAILED: content validation failed/);
    const repaired = await home.run(['content', 'redistribute', packageId, '--dp', 'DP02', '--wait']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(sha256(dp2File)).toBe(sha256(wimV2));

    const list = await home.run(['--json', 'package', 'list', '--type', 'image']);
    const packages = JSON.parse(list.stdout) as {
      PackageID: string;
      SourceVersion: number;
      ImageProperty?: unknown;
    }[];
    expect(packages).toHaveLength(1);
    expect(packages[0]).toMatchObject({ PackageID: packageId, SourceVersion: 2 });
    expect(packages[0]).not.toHaveProperty('ImageProperty');

    const dps = await home.run(['dp', 'list']);
    // Not probed yet (no server running), but the transfer that just succeeded counts as contact.
    expect(dps.stdout).toMatch(/DP01\s+local\s+.*\s+1\s+unknown\s+(just now|\d+ (s|min) ago)\s/);
  });

  it('prints every command as JSON with --json, and nothing else on stdout', async () => {
    const source = home.putSource(wimV1);
    const image = await home.run([
      'image',
      'new',
      '--json',
      '--name',
      'J',
      '--path',
      source,
      '--priority',
      '1',
    ]);
    const pkg = JSON.parse(image.stdout) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      PackageType: 257,
      Name: 'J',
      PkgSourcePath: source,
      Priority: 1,
      SourceVersion: 0,
    });
    expect(pkg).toHaveProperty('ImageProperty');
    const id = pkg.PackageID as string;
    const dp = JSON.parse(
      (await home.run(['--json', 'dp', 'add', '--name', 'DP01', '--path', join(home.dir, 'dp')])).stdout,
    ) as Record<string, unknown>;
    expect(dp).toMatchObject({ Name: 'DP01', SiteCode: 'PS1', IsPullDP: false, Kind: 'local' });
    expect(dp.NALPath).toContain('DP01');
    const queued = await home.run(['--json', 'content', 'distribute', id, '--dp', 'DP01']);
    expect(JSON.parse(queued.stdout)).toMatchObject({ ReturnValue: 0, PackageID: id });
    const waited = await home.run(['--json', 'content', 'refresh', id, '--dp', 'DP01', '--wait']);
    // RefreshNow before any version exists is refused; the distribute queued above has not run yet.
    expect(waited.code).toBe(2);
    expect(waited.stdout).toBe('');
    const shown = JSON.parse((await home.run(['--json', 'package', 'show', id])).stdout) as {
      SedoObjectVersion: string;
    };
    const set = await home.run([
      '--json',
      'package',
      'set',
      id,
      '--name',
      'Renamed',
      '--sedo',
      shown.SedoObjectVersion,
    ]);
    expect(set.stderr).toBe('');
    expect(JSON.parse(set.stdout)).toMatchObject({ Name: 'Renamed' });
    // The same token again is stale now: the first write moved SedoObjectVersion on.
    const stale = await home.run([
      'package',
      'set',
      id,
      '--name',
      'Again',
      '--sedo',
      shown.SedoObjectVersion,
    ]);
    expect(stale.code).toBe(5);
    expect(stale.stderr).toMatch(/^error 0x80041001 STALE_OBJECT: .*SedoObjectVersion/);
  });

  it('removes content from a DP, then the DP, then deletes the package', async () => {
    const source = home.putSource(wimV1);
    const id = (await home.run(['image', 'new', '--name', 'Short-lived', '--path', source])).stdout.trim();
    await home.run(['dp', 'add', '--name', 'DP01', '--path', join(home.dir, 'dp01')]);
    await home.run(['dp', 'add', '--name', 'DP02', '--path', join(home.dir, 'dp02')]);
    expect(
      (await home.run(['content', 'distribute', id, '--dp', 'DP01', '--dp', 'dp02', '--wait'])).code,
    ).toBe(0);
    expect(existsSync(join(home.dir, 'dp01', id, 'install.wim'))).toBe(true);

    const busy = await home.run(['dp', 'remove', 'DP01']);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/DP01 still holds 1 package/);

    const removed = await home.run(['content', 'remove', id, '--dp', 'DP01', '--wait']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(existsSync(join(home.dir, 'dp01', id))).toBe(false);
    expect((await home.run(['dp', 'remove', 'DP01'])).code).toBe(0);

    const deleted = await home.run(['package', 'delete', id, '--wait']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(existsSync(join(home.dir, 'dp02', id))).toBe(false);
    expect((await home.run(['package', 'show', id])).code).toBe(3);
  }, 20_000);

  it('reports errors as `error <hex> <CODE>: message` with the catalog exit code and no stack trace', async () => {
    const missing = await home.run(['package', 'show', 'PS1FFFFF']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^error 0x80041002 NOT_FOUND: .*PS1FFFFF/);
    expect(missing.stdout).toBe('');

    const relative = await home.run(['image', 'new', '--name', 'X', '--path', 'images/install.wim']);
    expect(relative.code).toBe(2);
    expect(relative.stderr).toMatch(/^error 0x80041008 INVALID_PARAMETER: PkgSourcePath .*absolute/);

    const absent = await home.run([
      'image',
      'new',
      '--name',
      'X',
      '--path',
      join(home.dir, 'nowhere', 'install.wim'),
    ]);
    expect(absent.code).toBe(6);
    expect(absent.stderr).toMatch(/^error 0x80070002 SOURCE_NOT_FOUND: .*nowhere/);

    const noDp = await home.run(['dp', 'remove', 'DP99']);
    expect(noDp.code).toBe(3);

    for (const r of [missing, relative, absent, noDp]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('answers usage mistakes with commander’s message and exit 2, and --help with 0', async () => {
    const unknown = await home.run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const badOption = await home.run(['status', 'PS100001', '--colour']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/unknown option '--colour'/);
    const badPriority = await home.run([
      'image',
      'new',
      '--name',
      'x',
      '--path',
      '/x.wim',
      '--priority',
      '7',
    ]);
    expect(badPriority.code).toBe(2);
    expect(badPriority.stderr).toMatch(/--priority must be an integer from 1 to 3/);
    const help = await home.run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/content/);
    expect(help.stdout).toMatch(/server/);
  });
});
