import { beforeEach, expect, it } from 'vitest';
import { forEachDialect } from '../../test/support/dialects.js';
import { FakeClock, SitecastError } from '../kernel/index.js';
import { AuditLog } from './audit-log.js';
import { AuditRepository } from './audit.repository.js';
import { Roles, type Principal } from './roles.js';

const ops: Principal = { tokenId: 3, name: 'Deploy-Bot', role: Roles.OperationsAdministrator };
const admin: Principal = { tokenId: 1, name: 'alice', role: Roles.FullAdministrator };

forEachDialect('audit log', (ctx) => {
  let clock: FakeClock;
  let audit: AuditLog;

  beforeEach(async () => {
    await ctx.database.db.deleteFrom('audit_log').execute();
    clock = new FakeClock(Date.UTC(2026, 10, 26, 9, 0));
    audit = new AuditLog(new AuditRepository(ctx.database.db), clock);
  });

  it('keeps every field of an entry and lists newest first', async () => {
    const t0 = clock.now();
    await audit.record({
      principal: ops,
      action: 'method',
      className: 'SMS_ImagePackage',
      target: 'PS100001',
      method: 'RefreshPkgSource',
      result: 0,
      remoteAddress: '10.0.0.7',
    });
    // Same millisecond: still listed in reverse order of recording.
    await audit.record({
      principal: admin,
      action: 'delete',
      className: 'SMS_DistributionPointGroup',
      target: '{G}',
      result: 0,
    });
    clock.advance(1_000);
    await audit.record({
      principal: ops,
      action: 'delete',
      className: 'SMS_ImagePackage',
      target: 'PS100001',
      result: 0x80041003,
      detail: 'role "Operations Administrator" may not delete SMS_ImagePackage',
    });
    const entries = await audit.list();
    expect(entries.map((e) => [e.time - t0, e.principalName, e.action, e.className])).toEqual([
      [1_000, 'Deploy-Bot', 'delete', 'SMS_ImagePackage'],
      [0, 'alice', 'delete', 'SMS_DistributionPointGroup'],
      [0, 'Deploy-Bot', 'method', 'SMS_ImagePackage'],
    ]);
    expect(entries[0]).toMatchObject({ tokenId: 3, result: 0x80041003, method: null, remoteAddress: null });
    expect(entries[0]!.detail).toContain('may not delete');
    expect(entries[2]).toMatchObject({
      target: 'PS100001',
      method: 'RefreshPkgSource',
      result: 0,
      detail: null,
      remoteAddress: '10.0.0.7',
    });
  });

  it('filters by time, principal and count', async () => {
    const t0 = clock.now();
    for (let i = 0; i < 6; i++) {
      await audit.record({
        principal: i % 2 === 0 ? ops : admin,
        action: 'update',
        className: 'SMS_Package',
        target: `PS10000${i}`,
        result: 0,
      });
      clock.advance(60_000);
    }
    await audit.record({ principal: null, action: 'create', className: 'SMS_Package', result: 0x80041003 });
    const targets = (entries: { target: string | null }[]): (string | null)[] => entries.map((e) => e.target);
    expect(targets(await audit.list({ since: t0 + 3 * 60_000 }))).toEqual([
      null,
      'PS100005',
      'PS100004',
      'PS100003',
    ]);
    expect(targets(await audit.list({ principal: 'deploy-bot' }))).toEqual([
      'PS100004',
      'PS100002',
      'PS100000',
    ]);
    expect(targets(await audit.list({ principal: 'ALICE', since: t0 + 60_000, limit: 2 }))).toEqual([
      'PS100005',
      'PS100003',
    ]);
    expect(targets(await audit.list({ limit: 1 }))).toEqual([null]);
    expect((await audit.list({ limit: 1 }))[0]).toMatchObject({ principalName: null, tokenId: null });
    expect(await audit.list({ principal: 'nobody' })).toEqual([]);
    expect(await audit.list({ since: t0 + 3 * 60_000 + 0.5 })).toHaveLength(3);
  });

  it('stores HRESULTs unsigned and cuts long details', async () => {
    await audit.record({
      principal: admin,
      action: 'method',
      className: 'SMS_ImagePackage',
      method: 'GetImageProperties',
      result: -2147217406, // 0x80041002 as a signed SInt32 ReturnValue
      detail: 'x'.repeat(5000),
    });
    const [entry] = await audit.list();
    expect(entry!.result).toBe(0x80041002);
    expect(entry!.detail).toHaveLength(2000);
    expect(entry!.detail!.endsWith('…')).toBe(true);
  });

  it('refuses bad entries and filters naming the field', async () => {
    const bad = [
      [
        () =>
          audit.record({ principal: admin, action: 'read' as 'create', className: 'SMS_Package', result: 0 }),
        'action',
      ],
      [
        () => audit.record({ principal: admin, action: 'create', className: 'SMS_Package', result: 1.5 }),
        'result',
      ],
      [
        () => audit.record({ principal: admin, action: 'create', className: 'SMS_Package', result: 2 ** 32 }),
        'result',
      ],
      [() => audit.list({ limit: 0 }), 'limit'],
      [() => audit.list({ limit: 10_001 }), 'limit'],
      [() => audit.list({ since: Number.NaN }), 'since'],
    ] as const;
    for (const [run, field] of bad) {
      const e = await (run() as Promise<unknown>).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(SitecastError);
      expect(e).toMatchObject({ code: 'INVALID_PARAMETER', details: { field } });
    }
    expect(await audit.list()).toEqual([]);
  });
});
