import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSite } from '../app/site.js';
import { Roles } from '../auth/index.js';
import { loadSettings } from '../config/index.js';
import { testHome, type TestHome } from './cli.test-helpers.js';
import { parseWhen } from './token.command.js';

interface TokenJson {
  Token?: string;
  Id: number;
  Name: string;
  Role: string;
  Prefix: string;
  ExpiresAt: string | null;
  LastUsedAt: string | null;
  RevokedAt: string | null;
}

describe('sitecast token and audit (in-process, SQLite)', () => {
  let home: TestHome;
  beforeEach(() => {
    home = testHome();
  });
  afterEach(() => home.cleanup());

  /** The same site the CLI opens, for what only the API does (authenticate, record audit entries). */
  const withSite = async <T>(
    work: (site: Awaited<ReturnType<typeof openSite>>) => Promise<T>,
  ): Promise<T> => {
    const site = await openSite(loadSettings({ home: join(home.dir, 'home'), chunkerThreads: 1 }, {}));
    try {
      return await work(site);
    } finally {
      await site.close();
    }
  };

  it('creates a token shown once, lists it without the secret, and revokes it', async () => {
    const created = await home.run([
      'token',
      'create',
      '--name',
      'deploy-bot',
      '--role',
      'operations',
      '--expires',
      '30d',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^sct_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain(
      'token 1 "deploy-bot" created with role Operations Administrator, expires ',
    );
    expect(created.stderr).toContain('it will not be shown again');

    const json = await home.run([
      '--json',
      'token',
      'create',
      '--name',
      'auditor',
      '--role',
      'Read-only Analyst',
    ]);
    expect(json.code, json.stderr).toBe(0);
    const info = JSON.parse(json.stdout) as TokenJson;
    expect(info).toMatchObject({
      Id: 2,
      Name: 'auditor',
      Role: 'Read-only Analyst',
      ExpiresAt: null,
      RevokedAt: null,
    });
    expect(info.Token).toMatch(/^sct_/);
    expect(info.Prefix).toBe(info.Token!.slice(0, 12));

    // What the CLI printed is a working credential, with the role asked for.
    expect(await withSite((s) => s.tokens.authenticate(`Bearer ${token}`))).toMatchObject({
      name: 'deploy-bot',
      role: Roles.OperationsAdministrator,
    });

    const list = await home.run(['token', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^Id\s+Name\s+Role\s+Prefix\s+Created\s+Last used\s+Expires\s+Revoked$/m);
    expect(list.stdout).toMatch(
      /1\s+deploy-bot\s+Operations Administrator\s+sct_\S{8}…\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d{4}-/,
    );
    expect(list.stdout).toMatch(
      /2\s+auditor\s+Read-only Analyst\s+sct_\S{8}…\s+\S+ \S+\s+never\s+never\s+-$/m,
    );
    expect(list.stdout).not.toContain(token.slice(12));
    expect(list.stdout).not.toContain(info.Token!.slice(12));

    const revoked = await home.run(['token', 'revoke', 'DEPLOY-BOT']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe('token 1 "deploy-bot" revoked\n');
    const listed = JSON.parse((await home.run(['--json', 'token', 'list'])).stdout) as { value: TokenJson[] };
    expect(listed.value.map((t) => [t.Id, t.RevokedAt !== null])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(JSON.stringify(listed)).not.toContain(token.slice(12));
    const refused = await withSite((s) => s.tokens.authenticate(`Bearer ${token}`).catch((e: unknown) => e));
    expect(refused).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await home.run(['token', 'revoke', '2'])).code).toBe(0);
  });

  it('reports bad roles, names, expiries and unknown tokens with the catalog exit codes', async () => {
    const role = await home.run(['token', 'create', '--name', 'x', '--role', 'root']);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('error 0x80041008 INVALID_PARAMETER: --role "root" is not a role');
    const expires = await home.run(['token', 'create', '--name', 'x', '--role', 'full', '--expires', 'soon']);
    expect(expires.code).toBe(2);
    expect(expires.stderr).toContain('--expires "soon" must be a span such as 30d');
    expect((await home.run(['token', 'create', '--name', 'x', '--role', 'full'])).code).toBe(0);
    const dup = await home.run(['token', 'create', '--name', 'X', '--role', 'full']);
    expect(dup.code).toBe(5);
    expect(dup.stderr).toContain('ALREADY_EXISTS: an API token named "X" already exists');
    const missing = await home.run(['token', 'revoke', 'nobody']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('error 0x80041002 NOT_FOUND: API token "nobody" does not exist');
    expect((await home.run(['token', 'list'])).stdout).not.toContain('nobody');
  });

  it('prints the audit log newest first, filtered by --since, --limit and --principal', async () => {
    const empty = await home.run(['audit']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe('no audit entries\n');
    await withSite(async (site) => {
      const { info } = await site.tokens.create({ name: 'ops', role: Roles.OperationsAdministrator });
      const ops = { tokenId: info.id, name: info.name, role: info.role };
      await site.audit.record({
        principal: ops,
        action: 'method',
        className: 'SMS_ImagePackage',
        target: 'PS100001',
        method: 'RefreshPkgSource',
        result: 0,
        remoteAddress: '10.1.2.3',
      });
      await site.audit.record({
        principal: ops,
        action: 'delete',
        className: 'SMS_ImagePackage',
        target: 'PS100001',
        result: 0x80041003,
        detail: 'role "Operations Administrator" may not\ndelete SMS_ImagePackage',
      });
      await site.audit.record({
        principal: null,
        action: 'create',
        className: 'SMS_Package',
        result: 0x80041003,
      });
    });
    const all = await home.run(['audit']);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^Time\s+Principal\s+Action\s+Class\s+Target\s+Method\s+Result\s+From\s+Detail$/,
    );
    expect(lines.slice(1).map((l) => l.replace(/^\S+ \S+\s+/, '').replace(/\s+/g, ' '))).toEqual([
      '(none) create SMS_Package - - 0x80041003 - -',
      'ops delete SMS_ImagePackage PS100001 - 0x80041003 - role "Operations Administrator" may not delete SMS_ImagePackage',
      'ops method SMS_ImagePackage PS100001 RefreshPkgSource 0 10.1.2.3 -',
    ]);
    const limited = JSON.parse(
      (await home.run(['--json', 'audit', '--limit', '2', '--principal', 'OPS'])).stdout,
    ) as {
      value: { Action: string; Principal: string; ReturnValue: number }[];
    };
    expect(limited.value.map((e) => [e.Action, e.Principal, e.ReturnValue])).toEqual([
      ['delete', 'ops', 0x80041003],
      ['method', 'ops', 0],
    ]);
    expect((await home.run(['audit', '--since', '2099-01-01'])).stdout).toBe(
      'no audit entries since 2099-01-01 00:00:00 UTC\n',
    );
    expect((await home.run(['audit', '--since', '1h'])).stdout.trimEnd().split('\n')).toHaveLength(4);
    expect((await home.run(['audit', '--limit', '0'])).code).toBe(2);
  });
});

describe('parseWhen', () => {
  const now = Date.UTC(2026, 10, 26, 12, 0);
  it('reads spans forward or back from now, and dates', () => {
    expect(parseWhen('30d', '--expires', now, 1)).toBe(now + 30 * 86_400_000);
    expect(parseWhen('1d12h', '--expires', now, 1)).toBe(now + 36 * 3_600_000);
    expect(parseWhen('2w', '--since', now, -1)).toBe(now - 14 * 86_400_000);
    expect(parseWhen('90m', '--since', now, -1)).toBe(now - 90 * 60_000);
    expect(parseWhen('2027-01-31', '--expires', now, 1)).toBe(Date.UTC(2027, 0, 31));
    expect(parseWhen('2027-01-31T18:00Z', '--expires', now, 1)).toBe(Date.UTC(2027, 0, 31, 18));
    expect(parseWhen('2027-01-31 18:00+01:00', '--expires', now, 1)).toBe(Date.UTC(2027, 0, 31, 17));
  });

  it('refuses anything else naming the option', () => {
    for (const bad of ['', '0d', '30', 'd', '30 days', '2027-13-45', '2027-02-31', 'tomorrow'])
      expect(() => parseWhen(bad, '--since', now, -1), bad).toThrow(/--since ".*" must be a span/);
  });
});
