import { TENANT_ID_PATTERN } from './volume/contexts.ts';
import crypto from 'node:crypto';
import { canManageSnapshots, canManageUsers, canReadSlowQueries, canRunHealth, canSeeContext, type SessionUser } from './auth/access.ts';

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
 * - snapshots (a management area): `/admin/contexts/<ctx>/snapshots/…`, admins only.
 * - metrics: `GET /metrics`, for an admin session or the scraper's bearer token (metricsAccess).
 * - not-found: a context path that is not well formed (`/tenants/../admin`).
 */
export type RouteAccess =
  | { kind: 'public' }
  | { kind: 'signed-in' }
  | { kind: 'metrics' }
  | { kind: 'management'; area: 'contexts' | 'snapshots' | 'users' | 'audit' | 'slow-queries'; context: string | null }
  | { kind: 'context'; context: string; ctxPath: string }
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
  if (pathname === '/metrics') return { kind: 'metrics' };
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
    if (area === 'users' || area === 'audit' || area === 'slow-queries') return { kind: 'management', area, context: null };
    if (area === 'contexts') {
      if (afterArea.length === 0) return { kind: 'management', area, context: null };
      const target = contextFromSegments(afterArea);
      if (!target) return { kind: 'not-found' };
      return { kind: 'management', area: target.rest[0] === 'snapshots' ? 'snapshots' : 'contexts', context: target.context };
    }
    return { kind: 'context', context: 'admin', ctxPath: 'admin' };
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
    case 'metrics':
      return canReadMetrics(user);
    case 'management':
      switch (route.area) {
        case 'contexts':
          return canRunHealth(user) && (route.context === null || canSeeContext(user, route.context));
        case 'snapshots':
          return canManageSnapshots(user) && route.context !== null && canSeeContext(user, route.context);
        case 'slow-queries':
          return canReadSlowQueries(user);
        case 'users':
        case 'audit':
          return canManageUsers(user);
      }
  }
}

/** The metrics show the whole fleet's sizes and traffic: admins only, among people. */
function canReadMetrics(user: SessionUser): boolean {
  return user.role === 'admin';
}

function digest(text: string): Buffer {
  return crypto.createHash('sha256').update(text).digest();
}

/**
 * Who may read `/metrics`: a scraper sending `Authorization: Bearer <TRUTH_YARD_METRICS_TOKEN>`
 * (compared in constant time), or a signed-in admin; never anyone anonymous. A wrong token
 * is refused even alongside an admin session, so a misconfigured scraper is noticed.
 */
export function metricsAccess(user: SessionUser | null, authorization: string | null, token: string | null): 'allowed' | 'sign-in' | 'bad-token' | 'not-found' {
  if (authorization !== null) {
    const sent = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (!token || !sent || !crypto.timingSafeEqual(digest(sent), digest(token))) return 'bad-token';
    return 'allowed';
  }
  if (!user) return 'sign-in';
  return canReadMetrics(user) ? 'allowed' : 'not-found';
}

/** A low-cardinality name of a route for the HTTP metrics: `api:context`, `page:management:users`, `metrics`. */
export function routeLabel(route: RouteAccess, api: boolean): string {
  if (route.kind === 'metrics') return 'metrics';
  return `${api ? 'api' : 'page'}:${route.kind}${route.kind === 'management' ? `:${route.area}` : ''}`;
}
