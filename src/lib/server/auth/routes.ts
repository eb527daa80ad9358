import { NOT_FOUND_MESSAGE, ProblemError } from '../core/errors.ts';
import { parseContextName } from '../volume/contexts.ts';
import { canSeeContext, type AccessSubject } from './access.ts';

/**
 * What a user may open besides reading the contexts they see, each gate named after what
 * it opens. Every page, endpoint and form action is behind exactly one (see classifyRoute
 * and contextActionRoute), so this switch is the whole of who may do what.
 */
export type Gate =
  /** Browse a context's objects and rows (the context itself is checked as well). */
  | 'read-context'
  /** Ad-hoc SQL on a context. */
  | 'run-sql'
  /** The contexts pages: statuses, composite.sql, manifests, regeneration and health history. */
  | 'see-contexts'
  | 'run-health'
  | 'regenerate'
  /** Folders under embedded/ that are not contexts, as the contexts list reports them. */
  | 'see-invalid-folders'
  /** The dashboard's fleet panels: database sizes and the latest health problems. */
  | 'see-fleet-health'
  | 'manage-users'
  | 'read-audit'
  /** The analytics composite over every tenant (issue 11): its pages and SQL. */
  | 'read-fleet-analytics'
  | 'refresh-fleet-analytics'
  /** Whole analytics tables as Parquet files. */
  | 'download-fleet-analytics'
  /** Snapshots of a context's databases, and restoring them (issue 12). */
  | 'manage-snapshots'
  /** Server metrics and the slow-query log (issue 12). */
  | 'read-metrics';

export function mayOpen(user: AccessSubject, gate: Gate): boolean {
  switch (gate) {
    case 'read-context':
      return true;
    case 'run-sql':
    case 'see-contexts':
    case 'run-health':
    case 'see-fleet-health':
    case 'read-fleet-analytics':
      return user.role === 'admin' || user.role === 'operator';
    case 'regenerate':
    case 'see-invalid-folders':
    case 'manage-users':
    case 'read-audit':
    case 'refresh-fleet-analytics':
    case 'download-fleet-analytics':
    case 'manage-snapshots':
    case 'read-metrics':
      return user.role === 'admin';
  }
}

/**
 * What a URL is about, decided from its path alone, before any page code runs. Every
 * page and endpoint is under exactly one of these, so authorization happens once, here
 * and in the middleware, and a page can never forget it.
 *
 * - public: signing in and out. (Built assets and the files of public/ are served by the
 *   HTTP front before any route is classified; nothing else, under /_astro/ or elsewhere,
 *   is public.)
 * - signed-in: the dashboard and `/api/me`; data is filtered to what the user may see.
 * - gated: management and fleet pages behind a gate; when the URL names a context
 *   (`/admin/contexts/tenant/acme/...`) the user must also be able to see that context.
 * - context: one composite (`/admin/**`, `/cross-tenant/**`, `/tenants/<id>/**`): browsing,
 *   or its ad-hoc SQL (`…/sql`).
 * - not-found: a context path that is not well formed (`/tenants/../admin`).
 */
export type RouteAccess =
  | { kind: 'public' }
  | { kind: 'signed-in' }
  | { kind: 'gated'; gate: Gate; context: string | null }
  | { kind: 'context'; gate: 'read-context' | 'run-sql'; context: string; ctxPath: string }
  | { kind: 'not-found' };

const PUBLIC_PATHS = new Set(['/login', '/api/login', '/logout', '/api/logout']);

/** Parses `admin`, `cross-tenant` or `tenant/<id>` off the front of path segments. */
function contextFromSegments(segments: string[]): { context: string; rest: string[] } | null {
  const [first, second, ...rest] = segments;
  if (first === 'tenant' && second !== undefined) return parseContextName(`tenant/${second}`) ? { context: `tenant/${second}`, rest } : null;
  return first !== undefined && parseContextName(first) ? { context: first, rest: segments.slice(1) } : null;
}

/** The URL path prefix of a context's pages: `admin`, `cross-tenant` or `tenants/<id>`. */
export function contextPath(contextName: string): string {
  const tenantId = parseContextName(contextName)?.tenantId;
  return tenantId ? `tenants/${tenantId}` : contextName;
}

/** The actions on one context, each with its endpoint `/api/admin/contexts/<ctx>/<action>`. */
export type ContextAction = 'regenerate' | 'health';
const CONTEXT_ACTION_GATES: Record<ContextAction, Gate> = { regenerate: 'regenerate', health: 'run-health' };

function isContextAction(name: string | undefined): name is ContextAction {
  return name !== undefined && Object.hasOwn(CONTEXT_ACTION_GATES, name);
}

/** An action on a context, as its endpoint is classified, so a form that asks for it is judged the same way. */
export function contextActionRoute(action: string, contextName: string): RouteAccess {
  return isContextAction(action) && parseContextName(contextName) ? { kind: 'gated', gate: CONTEXT_ACTION_GATES[action], context: contextName } : { kind: 'not-found' };
}

function contextRoute(context: string, rest: string[]): RouteAccess {
  return { kind: 'context', gate: rest[0] === 'sql' ? 'run-sql' : 'read-context', context, ctxPath: contextPath(context) };
}

export function classifyRoute(pathname: string): RouteAccess {
  if (PUBLIC_PATHS.has(pathname)) return { kind: 'public' };
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
    if (area === 'users') return { kind: 'gated', gate: 'manage-users', context: null };
    if (area === 'audit') return { kind: 'gated', gate: 'read-audit', context: null };
    if (area === 'contexts') {
      if (afterArea.length === 0) return { kind: 'gated', gate: 'see-contexts', context: null };
      const target = contextFromSegments(afterArea);
      if (!target) return { kind: 'not-found' };
      const [action] = target.rest;
      return isContextAction(action) ? contextActionRoute(action, target.context) : { kind: 'gated', gate: 'see-contexts', context: target.context };
    }
    return contextRoute('admin', tail);
  }
  if (head === 'analytics') {
    // Every tenant's data: a tenant user never reaches any of it.
    const [area] = tail;
    return { kind: 'gated', gate: area === 'refresh' ? 'refresh-fleet-analytics' : area === 'tables' ? 'download-fleet-analytics' : 'read-fleet-analytics', context: null };
  }
  if (head === 'cross-tenant') return contextRoute('cross-tenant', tail);
  if (head === 'tenants') {
    const [tenantId, ...rest] = tail;
    if (tenantId === undefined || !parseContextName(`tenant/${tenantId}`)) return { kind: 'not-found' };
    return contextRoute(`tenant/${tenantId}`, rest);
  }
  return { kind: 'signed-in' };
}

/**
 * Why a signed-in user may not reach a route, or null when they may. A refusal is "not
 * found", so a user cannot tell another tenant's context, or a page their role does not
 * open, from one that does not exist; the one exception is below.
 */
export function refusalFor(user: AccessSubject, route: RouteAccess): ProblemError | null {
  // Made only when refused: an error records a stack trace, which every allowed request would pay for.
  const notFound = () => new ProblemError('not_found', NOT_FOUND_MESSAGE, 404);
  switch (route.kind) {
    case 'public':
    case 'signed-in':
      return null;
    case 'not-found':
      return notFound();
    case 'context':
      return canSeeContext(user, route.context) && mayOpen(user, route.gate) ? null : notFound();
    case 'gated':
      if (route.context !== null && !canSeeContext(user, route.context)) return notFound();
      if (mayOpen(user, route.gate)) return null;
      // The contexts page shows an operator every context it may regenerate but cannot, so it is told why not.
      if (route.gate === 'regenerate' && mayOpen(user, 'see-contexts')) {
        return new ProblemError('forbidden', 'Only admins can regenerate composites; operators can run health checks.', 403);
      }
      return notFound();
  }
}

/** Where a user whose whole console is one tenant starts: that tenant's page; null for everyone else (the dashboard). */
export function landingPath(user: AccessSubject): string | null {
  return user.role === 'tenant' && user.tenants.length === 1 ? `/tenants/${user.tenants[0]}` : null;
}

export function mayReach(user: AccessSubject, route: RouteAccess): boolean {
  return refusalFor(user, route) === null;
}

/** Whether a link or button to `href` leads somewhere for this user: pages show only those. */
export function mayFollow(user: AccessSubject, href: string): boolean {
  return mayReach(user, classifyRoute(new URL(href, 'http://console.invalid').pathname));
}
