import { SitecastError } from '../kernel/index.js';

/** The security roles, named as in Configuration Manager. What each may do is in `role-rules.ts`. */
export const Roles = {
  FullAdministrator: 'Full Administrator',
  OperationsAdministrator: 'Operations Administrator',
  ReadOnlyAnalyst: 'Read-only Analyst',
} as const;

export type RoleName = (typeof Roles)[keyof typeof Roles];

/** Who is calling: the token that authenticated the request, its name and its role. */
export interface Principal {
  readonly tokenId: number;
  readonly name: string;
  readonly role: RoleName;
}

const roleNames: readonly RoleName[] = Object.values(Roles);

/** Short names people type on a command line. */
const aliases: Readonly<Record<string, RoleName>> = {
  full: Roles.FullAdministrator,
  admin: Roles.FullAdministrator,
  operations: Roles.OperationsAdministrator,
  ops: Roles.OperationsAdministrator,
  readonly: Roles.ReadOnlyAnalyst,
  'read-only': Roles.ReadOnlyAnalyst,
  analyst: Roles.ReadOnlyAnalyst,
};

export function isRoleName(value: unknown): value is RoleName {
  return typeof value === 'string' && (roleNames as readonly string[]).includes(value);
}

/**
 * A role from its full name (any case) or a short name (full, operations, readonly); INVALID_PARAMETER
 * naming `field` and listing the choices otherwise.
 */
export function parseRole(text: string, field = 'Role'): RoleName {
  const key = text.trim().toLowerCase();
  const found = roleNames.find((r) => r.toLowerCase() === key) ?? aliases[key];
  if (found) return found;
  throw new SitecastError(
    'INVALID_PARAMETER',
    `${field} ${JSON.stringify(text)} is not a role: use ${roleNames.map((r) => JSON.stringify(r)).join(', ')} (or full, operations, readonly)`,
    { field },
  );
}
