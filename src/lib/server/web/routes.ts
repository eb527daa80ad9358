import { TENANT_ID_PATTERN } from '../volume/contexts.ts';
import { canManageAnalytics, canManageUsers, canReadAnalytics, canRunHealth, canSeeContext, type SessionUser } from '../auth/access.ts';

/**
 * What a URL is about, decided from its path alone, before any page code runs. Every
 * page and endpoint is under exactly one of these, so authorization happens once, here
 * and in the middleware, and a page can never forget it.
 *
 * - public: sign-in and static assets.
 * - signed-in: the dashboard and `/api/me`; data is filtered to what the user may see.
 * - management: `/admin/contexts`, users and audit; needs a role, and when the URL names a
 *   context (`/admin/contexts/tenant/acme/...`) the user must be able to see that context.
 * - context: browsing one composite (`/admin/**`, `/cross-tenant/**`, `/tenants/<id>/**`).
 * - analytics: the fleet analytics over every tenant (`/analytics/**`); reading needs an
 *   admin or operator, refreshing and downloading whole tables an admin.
 * - not-found: a context path that is not well formed (`/tenants/../admin`).
 */
export type RouteAccess =
  | { kind: 'public' }
  | { kind: 'signed-in' }
  | { kind: 'management'; area: 'contexts' | 'users' | 'audit'; context: string | null }
  | { kind: 'context'; context: string; ctxPath: string }
  | { kind: 'analytics'; action: 'read' | 'refresh' | 'download' }
  | { kind: 'not-found' };

const PUBLIC_PATHS = new Set(['/login', '/api/login', '/logout', '/api/logout', '/favicon.svg']);

/** Parses `admin`, `cross-tenant` or `tenant/<id>` off the front of path segments. */
function contextFromSegments(segments: string[]): { context: string; rest: string[] } | null {
  const [first, second, ...rest] = segments;
  if (first === 'admin' || first === 'cross-tenant') return { context: first, rest: segments.slice(1) };
  if (first === 'tenant' && second !== undefined && TENANT_ID_PATTERN.test(second)) return { context: `tenant/${second}`, rest };
  return null;
}

/** The URL path prefix of a context's pages: `admin`, `cross-tenant` or `tenants/<id>`. */
export function contextPath(contextName: string): string {
  return contextName.startsWith('tenant/') ? `tenants/${contextName.slice('tenant/'.length)}` : contextName;
}

export function classifyRoute(pathname: string): RouteAccess {
  if (PUBLIC_PATHS.has(pathname) || pathname.startsWith('/_astro/')) return { kind: 'public' };
  // Decoding happens before splitting, so `%2e%2e` and `%2f` are judged as what they mean.
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { kind: 'not-found' };
  }
  const segments = decoded.split('/').filter((segment) => segment !== '');
  const [head, ...tail] = segments[0] === 'api' ? segments.slice(1) : segments;
  if (segments.some((segment) => segment === '.' || segment === '..')) return { kind: 'not-found' };

  if (head === 'admin') {
    const [area, ...afterArea] = tail;
    if (area === 'users' || area === 'audit') return { kind: 'management', area, context: null };
    if (area === 'contexts') {
      if (afterArea.length === 0) return { kind: 'management', area, context: null };
      const target = contextFromSegments(afterArea);
      return target ? { kind: 'management', area, context: target.context } : { kind: 'not-found' };
    }
    return { kind: 'context', context: 'admin', ctxPath: 'admin' };
  }
  if (head === 'analytics') {
    const [area] = tail;
    return { kind: 'analytics', action: area === 'refresh' ? 'refresh' : area === 'tables' ? 'download' : 'read' };
  }
  if (head === 'cross-tenant') return { kind: 'context', context: 'cross-tenant', ctxPath: 'cross-tenant' };
  if (head === 'tenants') {
    const [tenantId] = tail;
    if (tenantId === undefined || !TENANT_ID_PATTERN.test(tenantId)) return { kind: 'not-found' };
    return { kind: 'context', context: `tenant/${tenantId}`, ctxPath: `tenants/${tenantId}` };
  }
  return { kind: 'signed-in' };
}

/**
 * Whether a signed-in user may reach a route. Refusals are answered as "not found" so a
 * user cannot tell another tenant's context from one that does not exist.
 */
export function mayReach(user: SessionUser, route: RouteAccess): boolean {
  switch (route.kind) {
    case 'public':
    case 'signed-in':
      return true;
    case 'not-found':
      return false;
    case 'context':
      return canSeeContext(user, route.context);
    case 'analytics':
      return route.action === 'read' ? canReadAnalytics(user) : canManageAnalytics(user);
    case 'management':
      if (route.area !== 'contexts') return canManageUsers(user);
      return canRunHealth(user) && (route.context === null || canSeeContext(user, route.context));
  }
}
