import { describe, expect, it } from 'vitest';
import { SitecastError } from '../kernel/index.js';
import { authorize, isAllowed, type Permission } from './authorize.js';
import { roleRules, securityClasses } from './role-rules.js';
import { parseRole, Roles, type Principal, type RoleName } from './roles.js';

const F = Roles.FullAdministrator;
const O = Roles.OperationsAdministrator;
const R = Roles.ReadOnlyAnalyst;

const read = (className: string): Permission => ({ action: 'read', className });
const write = (className: string, operation?: 'create' | 'update' | 'delete'): Permission => ({
  action: 'write',
  className,
  ...(operation && { operation }),
});
const call = (className: string, method: string): Permission => ({ action: 'method', className, method });

/** [permission, roles that may] — every role not listed must be refused. */
const table: readonly (readonly [Permission, readonly RoleName[]])[] = [
  [read('SMS_ImagePackage'), [F, O, R]],
  [read('SMS_DistributionPointInfo'), [F, O, R]],
  [read('SMS_PackageStatusDistPointsSummarizer'), [F, O, R]],
  [read('SMS_AuditLog'), [F, O, R]],
  [read('SMS_AdminToken'), [F]],
  [read('sms_admintoken'), [F]],
  [write('SMS_ImagePackage', 'create'), [F]],
  [write('SMS_ImagePackage', 'update'), [F, O]],
  [write('sms_package', 'update'), [F, O]],
  [write('SMS_DriverPackage', 'update'), [F, O]],
  [write('SMS_ImagePackage', 'delete'), [F]],
  [write('SMS_ImagePackage'), [F]],
  [write('SMS_DistributionPointInfo', 'create'), [F]],
  [write('SMS_DistributionPointInfo', 'update'), [F, O]],
  [write('SMS_DistributionPointInfo', 'delete'), [F]],
  [write('SMS_DistributionPoint', 'create'), [F, O]],
  [write('SMS_DistributionPoint', 'update'), [F, O]],
  [write('SMS_DistributionPoint', 'delete'), [F, O]],
  [write('SMS_DistributionPoint'), [F, O]],
  [write('SMS_DistributionPointGroup', 'create'), [F]],
  [write('SMS_DistributionPointGroup', 'update'), [F]],
  [write('SMS_DistributionPointGroup', 'delete'), [F]],
  [write('SMS_Site', 'create'), [F]],
  [write('SMS_Site', 'delete'), [F]],
  [write('SMS_ImageInformation', 'update'), [F]],
  [write('SMS_AdminToken', 'create'), [F]],
  [write('SMS_AdminToken', 'delete'), [F]],
  [write('SMS_AuditLog', 'delete'), [F]],
  [call('SMS_ImagePackage', 'RefreshPkgSource'), [F, O]],
  [call('SMS_Package', 'AddDistributionPoints'), [F, O]],
  [call('SMS_ImagePackage', 'ReloadImageProperties'), [F, O]],
  [call('SMS_ImagePackage', 'GetImageProperties'), [F, O, R]],
  [call('SMS_ImagePackage', 'getimageproperties'), [F, O, R]],
  [call('SMS_ImagePackage', 'SetSourceSite'), [F]],
  [call('SMS_ImagePackage', 'Unlock'), [F]],
  [call('SMS_Package', 'AddChangeNotification'), [F]],
  [call('SMS_DistributionPoint', 'VerifyPackage'), [F, O]],
  [call('SMS_DistributionPoint', 'CancelDistribution'), [F, O]],
  [call('SMS_DistributionPointInfo', 'SetDPMaintenanceMode'), [F, O]],
  [call('SMS_DistributionPointGroup', 'AddDistributionPoints'), [F, O]],
  [call('SMS_DistributionPointGroup', 'RemoveDistributionPoints'), [F, O]],
  [call('SMS_DistributionPointGroup', 'AddPackages'), [F, O]],
  [call('SMS_DistributionPointGroup', 'RemovePackages'), [F, O]],
  [call('SMS_DistributionPointGroup', 'ReDistributePackage'), [F, O]],
  [call('SMS_DistributionPointGroup', 'RefreshDPGroup'), [F, O]],
  [call('SMS_ScheduleMethods', 'ReadFromString'), [F, O, R]],
  [call('SMS_ScheduleMethods', 'WriteToString'), [F, O, R]],
  [call('SMS_AdminToken', 'Revoke'), [F]],
  [call('SMS_AdminToken', 'GetImageProperties'), [F]],
];

const principal = (role: RoleName): Principal => ({ tokenId: 7, name: 'someone', role });

describe('authorize', () => {
  for (const [permission, allowed] of table) {
    for (const role of [F, O, R]) {
      const may = allowed.includes(role);
      it(`${role} ${may ? 'may' : 'may not'} ${JSON.stringify(permission)}`, () => {
        expect(isAllowed(role, permission)).toBe(may);
        if (may) expect(() => authorize(principal(role), permission)).not.toThrow();
        else expect(() => authorize(principal(role), permission)).toThrow(SitecastError);
      });
    }
  }

  it('names the role, the action and the class or method when it refuses', () => {
    const refusal = (role: RoleName, p: Permission): SitecastError => {
      try {
        authorize(principal(role), p);
      } catch (e) {
        return e as SitecastError;
      }
      throw new Error('not refused');
    };
    const del = refusal(O, write('SMS_ImagePackage', 'delete'));
    expect(del.code).toBe('ACCESS_DENIED');
    expect(del.httpStatus).toBe(403);
    expect(del.message).toBe('role "Operations Administrator" may not delete SMS_ImagePackage');
    expect(del.details).toEqual({ role: O, action: 'delete', className: 'SMS_ImagePackage' });
    expect(refusal(O, write('SMS_Package')).message).toBe(
      'role "Operations Administrator" may not create or delete SMS_Package',
    );
    const m = refusal(R, call('SMS_ImagePackage', 'RefreshPkgSource'));
    expect(m.message).toBe('role "Read-only Analyst" may not call SMS_ImagePackage.RefreshPkgSource');
    expect(m.details).toMatchObject({ action: 'method', method: 'RefreshPkgSource' });
    expect(refusal(R, read('SMS_AdminToken')).message).toBe(
      'role "Read-only Analyst" may not read SMS_AdminToken',
    );
  });

  it('grants nothing to a role it does not know', () => {
    const rogue = { tokenId: 1, name: 'x', role: 'Root' } as unknown as Principal;
    expect(() => authorize(rogue, read('SMS_Package'))).toThrow(/role "Root" may not read SMS_Package/);
  });

  it('keeps tokens and the audit log Full-Administrator-only in the rule table', () => {
    for (const role of [O, R]) {
      for (const className of ['SMS_AdminToken', 'SMS_AuditEntry', 'SMS_Audit']) {
        for (const op of ['create', 'update', 'delete'] as const)
          expect(isAllowed(role, write(className, op))).toBe(false);
        for (const method of roleRules[role].methods.names)
          expect(isAllowed(role, call(className, method))).toBe(false);
      }
    }
    expect(securityClasses).toContain('SMS_AdminToken');
  });
});

describe('parseRole', () => {
  it('takes full names in any case and the short names', () => {
    expect(parseRole('Full Administrator')).toBe(F);
    expect(parseRole('read-only analyst')).toBe(R);
    expect(parseRole(' operations ')).toBe(O);
    expect(parseRole('readonly')).toBe(R);
    expect(parseRole('full')).toBe(F);
  });

  it('lists the roles when the text is none of them', () => {
    expect(() => parseRole('root', '--role')).toThrow(
      '--role "root" is not a role: use "Full Administrator", "Operations Administrator", "Read-only Analyst"',
    );
  });
});
