import { parseContextName } from '../volume/contexts.ts';

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

export type AccessSubject = Pick<SessionUser, 'role' | 'tenants'>;

/**
 * Whether the user may read a context. A name that is not a well-formed context name
 * (`tenant/../admin`, `tenant/`) is refused for every role, so callers can never be
 * talked into a path the volume layer would have to catch. What else a role may do is
 * decided by the gates of the route table (routes.ts).
 */
export function canSeeContext(user: AccessSubject, contextName: string): boolean {
  const parsed = parseContextName(contextName);
  if (!parsed) return false;
  switch (user.role) {
    case 'admin':
      return true;
    case 'operator':
      return parsed.kind !== 'admin';
    case 'tenant':
      return parsed.tenantId !== null && user.tenants.includes(parsed.tenantId);
  }
}

/**
 * Users with the same key see the same contexts (canSeeContext above decides by role, and
 * for tenant users by their tenants), so what is worked out of the visible contexts can be
 * shared between them.
 */
export function contextVisibilityKey(user: AccessSubject): string {
  switch (user.role) {
    case 'admin':
    case 'operator':
      return user.role;
    case 'tenant':
      return `tenant:${[...user.tenants].sort().join('/')}`;
  }
}
