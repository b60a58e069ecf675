import { beforeEach, expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { FakeClock, SitecastError } from '../kernel/index.js';
import { Roles } from './roles.js';
import { TokenRepository } from './token.repository.js';
import { TokenService } from './token.service.js';

async function failure(p: Promise<unknown>): Promise<SitecastError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SitecastError);
  return e as SitecastError;
}

forEachDialect('token service', (ctx) => {
  let clock: FakeClock;
  let tokens: TokenService;

  beforeEach(async () => {
    await ctx.database.db.deleteFrom('api_token').execute();
    clock = new FakeClock(Date.UTC(2026, 10, 26, 9, 0));
    tokens = new TokenService(new TokenRepository(ctx.database.db), clock);
  });

  it('creates a token shown once, stores only its hash, and authenticates it', async () => {
    const { token, info } = await tokens.create({ name: 'deploy-bot', role: Roles.OperationsAdministrator });
    expect(token).toMatch(/^sct_[A-Za-z0-9_-]{43}$/);
    expect(info).toMatchObject({
      name: 'deploy-bot',
      role: 'Operations Administrator',
      createdAt: clock.now(),
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
      prefix: token.slice(0, 12),
    });
    const rows = await ctx.database.db.selectFrom('api_token').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
    expect(JSON.stringify(await tokens.list())).not.toContain(token.slice(12));

    const principal = await tokens.authenticate(`Bearer ${token}`);
    expect(principal).toEqual({ tokenId: info.id, name: 'deploy-bot', role: 'Operations Administrator' });
    // The scheme is case-insensitive and surrounding spaces do not matter.
    expect(await tokens.authenticate(`  bearer   ${token} `)).toEqual(principal);

    const second = await tokens.create({ name: 'auditor', role: Roles.ReadOnlyAnalyst });
    expect(second.token).not.toBe(token);
    expect((await tokens.authenticate(`Bearer ${second.token}`)).name).toBe('auditor');
  });

  it('refuses a second token of the same name in any case, and bad names and expiries', async () => {
    await tokens.create({ name: 'Deploy-Bot', role: Roles.FullAdministrator });
    const dup = await failure(tokens.create({ name: 'deploy-bot', role: Roles.ReadOnlyAnalyst }));
    expect(dup).toMatchObject({ code: 'ALREADY_EXISTS', details: { field: 'Name' } });
    expect(dup.message).toContain('"deploy-bot" already exists');
    const cases = [
      [{ name: '  ', role: Roles.FullAdministrator }, 'Name', 'must not be empty'],
      [{ name: '42', role: Roles.FullAdministrator }, 'Name', 'only digits'],
      [{ name: 'x'.repeat(129), role: Roles.FullAdministrator }, 'Name', 'at most 128'],
      [{ name: 'ok', role: 'Root' as typeof Roles.FullAdministrator }, 'Role', '"Root" is not a role'],
      [{ name: 'ok', role: Roles.FullAdministrator, expiresAt: clock.now() }, 'ExpiresAt', 'in the future'],
    ] as const;
    for (const [input, field, text] of cases) {
      const e = await failure(tokens.create(input));
      expect(e).toMatchObject({ code: 'INVALID_PARAMETER', details: { field } });
      expect(e.message).toContain(text);
    }
    expect((await tokens.list()).map((t) => t.name)).toEqual(['Deploy-Bot']);
  });

  it('a token in use is refused at once when revoked here, and within seconds when revoked elsewhere', async () => {
    const a = await tokens.create({ name: 'alpha', role: Roles.FullAdministrator });
    const b = await tokens.create({ name: 'beta', role: Roles.FullAdministrator });
    expect((await tokens.authenticate(`Bearer ${a.token}`)).name).toBe('alpha');
    expect((await tokens.authenticate(`Bearer ${b.token}`)).name).toBe('beta');
    await tokens.revoke('alpha');
    expect((await failure(tokens.authenticate(`Bearer ${a.token}`))).details).toMatchObject({
      reason: 'revoked',
    });
    // Another process (a second server, the CLI) revokes beta in the shared database.
    await new TokenService(new TokenRepository(ctx.database.db), clock).revoke('beta');
    clock.advance(5_000);
    expect((await failure(tokens.authenticate(`Bearer ${b.token}`))).details).toMatchObject({
      reason: 'revoked',
    });
  });

  it('revokes by id or by name; the revoked token is refused, others still work', async () => {
    const a = await tokens.create({ name: 'alpha', role: Roles.FullAdministrator });
    const b = await tokens.create({ name: 'beta', role: Roles.ReadOnlyAnalyst });
    clock.advance(5_000);
    await tokens.revoke('ALPHA');
    await tokens.revoke(b.info.id);
    const revokedAt = clock.now();
    clock.advance(5_000);
    await tokens.revoke(String(b.info.id)); // a second revoke keeps the first time
    expect((await tokens.list()).map((t) => [t.name, t.revokedAt])).toEqual([
      ['alpha', revokedAt],
      ['beta', revokedAt],
    ]);
    for (const t of [a.token, b.token]) {
      const e = await failure(tokens.authenticate(`Bearer ${t}`));
      expect(e).toMatchObject({
        code: 'UNAUTHENTICATED',
        details: { field: 'Authorization', reason: 'revoked' },
      });
      expect(e.message).toContain('has been revoked');
    }
    const c = await tokens.create({ name: 'gamma', role: Roles.FullAdministrator });
    expect((await tokens.authenticate(`Bearer ${c.token}`)).name).toBe('gamma');

    for (const ref of ['nobody', 999, '999']) {
      const e = await failure(tokens.revoke(ref));
      expect(e.code).toBe('NOT_FOUND');
      expect(e.message).toContain(`"${String(ref)}" does not exist`);
    }
  });

  it('refuses an expired token from the moment it expires', async () => {
    const expiresAt = clock.now() + 30 * 86_400_000;
    const { token, info } = await tokens.create({ name: 'temp', role: Roles.ReadOnlyAnalyst, expiresAt });
    expect(info.expiresAt).toBe(expiresAt);
    clock.advance(30 * 86_400_000 - 1);
    expect((await tokens.authenticate(`Bearer ${token}`)).name).toBe('temp');
    clock.advance(1);
    const e = await failure(tokens.authenticate(`Bearer ${token}`));
    expect(e).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'expired' } });
    expect(e.message).toContain(`expired at ${new Date(expiresAt).toISOString()}`);
    expect(e.httpStatus).toBe(401);
    expect(e.hex).toBe('0x80041003');
    expect(e.exitCode).toBe(4);
  });

  it('records the last use at most once a minute', async () => {
    const { token, info } = await tokens.create({ name: 'poller', role: Roles.ReadOnlyAnalyst });
    const lastUsed = async (): Promise<number | null> => (await tokens.get(info.id)).lastUsedAt;
    const t0 = clock.now();
    await tokens.authenticate(`Bearer ${token}`);
    expect(await lastUsed()).toBe(t0);
    clock.advance(59_999);
    await tokens.authenticate(`Bearer ${token}`);
    expect(await lastUsed()).toBe(t0);
    clock.advance(1);
    await tokens.authenticate(`Bearer ${token}`);
    expect(await lastUsed()).toBe(t0 + 60_000);
  });

  it('refuses missing, malformed and unknown credentials without echoing them', async () => {
    const { token } = await tokens.create({ name: 'secret-holder', role: Roles.FullAdministrator });
    const forged = `sct_${'A'.repeat(43)}`;
    const cases: [string | undefined, string, string][] = [
      [undefined, 'missing', 'Authorization: Bearer <token>'],
      ['   ', 'missing', 'no credentials'],
      [`Basic ${Buffer.from('admin:hunter2').toString('base64')}`, 'malformed', 'must be Bearer, not Basic'],
      [token, 'malformed', 'scheme must be Bearer'],
      ['Bearer', 'malformed', 'malformed'],
      [`Bearer ${token} extra`, 'malformed', 'malformed'],
      ['Bearer hunter2-password', 'malformed', 'sct_ and 43 base64url characters'],
      [`Bearer ${token}x`, 'malformed', 'malformed'],
      [`Bearer ${forged}`, 'unknown', 'not valid'],
      [`Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, 'unknown', 'not valid'],
    ];
    for (const [header, reason, text] of cases) {
      const e = await failure(tokens.authenticate(header));
      expect(e, String(header)).toMatchObject({
        code: 'UNAUTHENTICATED',
        details: { field: 'Authorization', reason },
      });
      expect(e.message).toContain(text);
      const shown = JSON.stringify(e.toJSON());
      for (const leak of [
        'hunter2',
        'YWRtaW46',
        token.slice(4, 20),
        forged.slice(4, 20),
        'secret-holder',
        'Full Administrator',
      ])
        expect(shown, String(header)).not.toContain(leak);
    }
  });
});
