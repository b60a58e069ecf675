import { PackageType } from '../catalog/index.js';
import { Roles, type RoleName } from './roles.js';

/**
 * A set of WMI classes: names compared case-insensitively (WMI ignores case), `*` alone is every class, a
 * trailing `*` any suffix (`SMS_Audit*`). `except` wins over `include`.
 */
export interface ClassSet {
  readonly include: readonly string[];
  readonly except?: readonly string[];
}

/** What one role may do. Anything not granted here is denied. */
export interface RoleGrant {
  readonly read: ClassSet;
  readonly create: ClassSet;
  readonly update: ClassSet;
  readonly delete: ClassSet;
  /** Methods (instance or static) it may call: these names, on these classes; `*` is every method. */
  readonly methods: { readonly names: readonly string[]; readonly on: ClassSet };
}

/** Tokens and the audit log: only a Full Administrator changes them, whatever else a role may do. */
export const securityClasses = ['SMS_AdminToken', 'SMS_Audit*'] as const;

const packageClasses = Object.keys(PackageType);
const none: ClassSet = { include: [] };
const everything: ClassSet = { include: ['*'] };
/** Every class but the token class: a token list (names, roles, prefixes) is a security object. */
const everythingButTokens: ClassSet = { include: ['*'], except: ['SMS_AdminToken'] };

/** Methods with no side effect: they read a WIM or convert a schedule string. */
const readOnlyMethods = ['GetImageProperties', 'ReadFromString', 'WriteToString'];

/**
 * Day-to-day content work: refresh, (re)distribute, validate, cancel, maintenance mode, group membership
 * and group content. Not SetSourceSite/Unlock (ownership moves between sites), nor anything on tokens.
 */
const operationalMethods = [
  ...readOnlyMethods,
  'RefreshPkgSource',
  'ReloadImageProperties',
  'AddDistributionPoints',
  'RemoveDistributionPoints',
  'AddPackages',
  'RemovePackages',
  'ReDistributePackage',
  'RefreshDPGroup',
  'VerifyPackage',
  'CancelDistribution',
  'SetDPMaintenanceMode',
];

/**
 * The one table of who may do what, after Configuration Manager's built-in security roles. An
 * SMS_DistributionPoint row is a package placed on a DP (creating one is AddDistributionPoints, deleting
 * one removes the content), so operations staff may create, update and delete it; the DPs themselves
 * (SMS_DistributionPointInfo) they may only update.
 */
export const roleRules: Readonly<Record<RoleName, RoleGrant>> = {
  [Roles.FullAdministrator]: {
    read: everything,
    create: everything,
    update: everything,
    delete: everything,
    methods: { names: ['*'], on: everything },
  },
  [Roles.OperationsAdministrator]: {
    read: everythingButTokens,
    create: { include: ['SMS_DistributionPoint'] },
    update: { include: [...packageClasses, 'SMS_DistributionPoint', 'SMS_DistributionPointInfo'] },
    delete: { include: ['SMS_DistributionPoint'] },
    methods: { names: operationalMethods, on: { include: ['*'], except: securityClasses } },
  },
  [Roles.ReadOnlyAnalyst]: {
    read: everythingButTokens,
    create: none,
    update: none,
    delete: none,
    methods: { names: readOnlyMethods, on: { include: ['*'], except: securityClasses } },
  },
};
