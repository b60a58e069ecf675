import { SitecastError } from '../kernel/index.js';
import { roleRules, type ClassSet, type RoleGrant } from './role-rules.js';
import { isRoleName, type Principal, type RoleName } from './roles.js';

export type WriteOperation = 'create' | 'update' | 'delete';

/**
 * What a request wants to do: read a class, write (create/update/delete) a class, or call a method.
 * A write should name its `operation`; without one it needs all three (a role that may only update a
 * class is refused a bare write), so a forgotten field fails closed.
 */
export type Permission =
  | { readonly action: 'read'; readonly className: string }
  | { readonly action: 'write'; readonly className: string; readonly operation?: WriteOperation }
  | { readonly action: 'method'; readonly className: string; readonly method: string };

const allWrites: readonly WriteOperation[] = ['create', 'update', 'delete'];

/** Throws ACCESS_DENIED naming the role, the action and the class/method when the role may not. */
export function authorize(principal: Principal, permission: Permission): void {
  const denied = deniedParts(principal.role, permission);
  if (denied === null) return;
  const what =
    permission.action === 'method'
      ? `call ${permission.className}.${permission.method}`
      : `${denied} ${permission.className}`;
  throw new SitecastError('ACCESS_DENIED', `role ${JSON.stringify(principal.role)} may not ${what}`, {
    role: principal.role,
    action: permission.action === 'write' ? denied : permission.action,
    className: permission.className,
    ...(permission.action === 'method' && { method: permission.method }),
  });
}

/** True when the role may (authorize() without the throw). */
export function isAllowed(role: RoleName, permission: Permission): boolean {
  return deniedParts(role, permission) === null;
}

/** Null when allowed, else the refused part of the request ("read", "create or delete", "call"). */
function deniedParts(role: RoleName, permission: Permission): string | null {
  // A role string that is not ours (a hand-edited row) grants nothing.
  if (!isRoleName(role)) return permission.action === 'write' ? 'write' : permission.action;
  const grant: RoleGrant = roleRules[role];
  switch (permission.action) {
    case 'read':
      return inSet(grant.read, permission.className) ? null : 'read';
    case 'write': {
      const wanted = permission.operation ? [permission.operation] : allWrites;
      const refused = wanted.filter((op) => !inSet(grant[op], permission.className));
      return refused.length === 0 ? null : refused.join(' or ');
    }
    case 'method': {
      const { names, on } = grant.methods;
      const named = names.some((n) => n === '*' || same(n, permission.method));
      return named && inSet(on, permission.className) ? null : 'call';
    }
  }
}

function inSet(set: ClassSet, className: string): boolean {
  const hit = (patterns: readonly string[]): boolean => patterns.some((p) => matches(p, className));
  return hit(set.include) && !hit(set.except ?? []);
}

function matches(pattern: string, className: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return className.toLowerCase().startsWith(pattern.slice(0, -1).toLowerCase());
  return same(pattern, className);
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
