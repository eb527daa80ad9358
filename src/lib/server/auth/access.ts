import { TENANT_ID_PATTERN } from '../volume/contexts.ts';

/**
 * admin: everything, user management, regeneration.
 * operator: reads every tenant and cross-tenant, runs health checks; not the admin context.
 * tenant: reads only the tenants listed on the user.
 */
export type Role = 'admin' | 'operator' | 'tenant';

export const ROLES: readonly Role[] = ['admin', 'operator', 'tenant'];

/** The signed-in user as every authorization decision sees it. */
export interface SessionUser {
  id: string;
  username: string;
  role: Role;
  /** Tenant ids the user may read; only meaningful for the tenant role. */
  tenants: string[];
}

type AccessSubject = Pick<SessionUser, 'role' | 'tenants'>;

function tenantIdOf(contextName: string): string | null {
  if (!contextName.startsWith('tenant/')) return null;
  const id = contextName.slice('tenant/'.length);
  return TENANT_ID_PATTERN.test(id) ? id : null;
}

/**
 * Whether the user may read a context. A name that is not a well-formed context name
 * (`tenant/../admin`, `tenant/`) is refused for every role, so callers can never be
 * talked into a path the volume layer would have to catch.
 */
export function canSeeContext(user: AccessSubject, contextName: string): boolean {
  const tenantId = tenantIdOf(contextName);
  const wellFormed = contextName === 'admin' || contextName === 'cross-tenant' || tenantId !== null;
  if (!wellFormed) return false;
  switch (user.role) {
    case 'admin':
      return true;
    case 'operator':
      return contextName !== 'admin';
    case 'tenant':
      return tenantId !== null && user.tenants.includes(tenantId);
  }
}

export function canRegenerate(user: AccessSubject): boolean {
  return user.role === 'admin';
}

export function canRunHealth(user: AccessSubject): boolean {
  return user.role === 'admin' || user.role === 'operator';
}

export function canManageUsers(user: AccessSubject): boolean {
  return user.role === 'admin';
}

/** Ad-hoc SQL over a context the user can see: admins and operators, not tenant users. */
export function canRunAdhocSql(user: AccessSubject): boolean {
  return user.role === 'admin' || user.role === 'operator';
}

/** Snapshots copy and replace evidence databases: admins only. */
export function canManageSnapshots(user: AccessSubject): boolean {
  return user.role === 'admin';
}

/** The slow-query log shows statements of every context: admins only. */
export function canReadSlowQueries(user: AccessSubject): boolean {
  return user.role === 'admin';
}
