import { describe, expect, it } from 'vitest';
import { classifyRoute, contextActionRoute, contextPath, mayFollow, mayOpen, mayReach, metricsAccess, refusalFor, routeLabel, type Gate } from './routes.ts';
import type { SessionUser } from './access.ts';

const admin: SessionUser = { id: '1', username: 'admin', role: 'admin', tenants: [] };
const operator: SessionUser = { id: '2', username: 'operator', role: 'operator', tenants: [] };
const acmeUser: SessionUser = { id: '3', username: 'acme-user', role: 'tenant', tenants: ['acme'] };

describe('route classification', () => {
  it.each([
    ['/login', { kind: 'public' }],
    ['/', { kind: 'signed-in' }],
    ['/api/me', { kind: 'signed-in' }],
    ['/admin/objects', { kind: 'context', gate: 'read-context', context: 'admin', ctxPath: 'admin' }],
    ['/api/admin/objects/platform.tenants/rows', { kind: 'context', gate: 'read-context', context: 'admin', ctxPath: 'admin' }],
    ['/cross-tenant/objects', { kind: 'context', gate: 'read-context', context: 'cross-tenant', ctxPath: 'cross-tenant' }],
    ['/tenants/acme/objects/all_findings', { kind: 'context', gate: 'read-context', context: 'tenant/acme', ctxPath: 'tenants/acme' }],
    ['/api/tenants/acme/objects', { kind: 'context', gate: 'read-context', context: 'tenant/acme', ctxPath: 'tenants/acme' }],
    ['/tenants/acme/sql', { kind: 'context', gate: 'run-sql', context: 'tenant/acme', ctxPath: 'tenants/acme' }],
    // Saved views are read within their context; a SQL view also asks the run-sql gate when opened.
    ['/tenants/acme/views/7', { kind: 'context', gate: 'read-context', context: 'tenant/acme', ctxPath: 'tenants/acme' }],
    ['/api/admin/views', { kind: 'context', gate: 'read-context', context: 'admin', ctxPath: 'admin' }],
    ['/api/cross-tenant/sql', { kind: 'context', gate: 'run-sql', context: 'cross-tenant', ctxPath: 'cross-tenant' }],
    ['/admin/contexts', { kind: 'gated', gate: 'see-contexts', context: null }],
    ['/admin/contexts/tenant/acme', { kind: 'gated', gate: 'see-contexts', context: 'tenant/acme' }],
    ['/api/admin/contexts/cross-tenant/health', { kind: 'gated', gate: 'run-health', context: 'cross-tenant' }],
    ['/api/admin/contexts/admin/regenerate', { kind: 'gated', gate: 'regenerate', context: 'admin' }],
    ['/admin/users', { kind: 'gated', gate: 'manage-users', context: null }],
    ['/api/admin/audit', { kind: 'gated', gate: 'read-audit', context: null }],
    ['/analytics', { kind: 'gated', gate: 'read-fleet-analytics', context: null }],
    ['/analytics/drift', { kind: 'gated', gate: 'read-fleet-analytics', context: null }],
    ['/api/analytics/sql', { kind: 'gated', gate: 'read-fleet-analytics', context: null }],
    ['/api/analytics/refresh', { kind: 'gated', gate: 'refresh-fleet-analytics', context: null }],
    ['/api/analytics/tables/all_findings.parquet', { kind: 'gated', gate: 'download-fleet-analytics', context: null }],
    ['/admin/slow-queries', { kind: 'gated', gate: 'read-metrics', context: null }],
    ['/api/admin/contexts/tenant/acme/snapshots', { kind: 'gated', gate: 'manage-snapshots', context: 'tenant/acme' }],
    ['/api/admin/contexts/admin/snapshots/0b4e/restore', { kind: 'gated', gate: 'manage-snapshots', context: 'admin' }],
    ['/metrics', { kind: 'metrics' }],
  ])('%s', (pathname, expected) => {
    expect(classifyRoute(pathname)).toEqual(expected);
  });

  it.each(['/tenants/../admin/objects', '/tenants/%2e%2e/admin', '/tenants/acme%2f..%2fglobex/objects', '/tenants/-bad/objects', '/tenants', '/api/tenants/', '/admin/contexts/tenant/..', '/admin/contexts/nowhere', '/tenants/%E0%A4%A'])(
    '%s is not found',
    (pathname) => {
      expect(classifyRoute(pathname)).toEqual({ kind: 'not-found' });
    },
  );

  // The HTTP front serves the files that exist; a URL that reaches routing is never public
  // for looking like one (`/_astro/x/objects` reached the catch-all pages signed out).
  it.each(['/_astro/x/objects', '/_astro/app.css', '/api/_astro/x', '/favicon.svg', '/robots.txt'])('%s is not public', (pathname) => {
    expect(classifyRoute(pathname).kind).not.toBe('public');
  });

  it('names context URL prefixes', () => {
    expect(contextPath('tenant/acme')).toBe('tenants/acme');
    expect(contextPath('cross-tenant')).toBe('cross-tenant');
  });
});

describe('route authorization', () => {
  const reach = (user: SessionUser, pathname: string) => mayReach(user, classifyRoute(pathname));

  it('lets a tenant user reach only their own tenant', () => {
    expect(reach(acmeUser, '/tenants/acme/objects')).toBe(true);
    expect(reach(acmeUser, '/tenants/globex/objects')).toBe(false);
    expect(reach(acmeUser, '/cross-tenant/objects')).toBe(false);
    expect(reach(acmeUser, '/admin/objects')).toBe(false);
    expect(reach(acmeUser, '/admin/contexts')).toBe(false);
    expect(reach(acmeUser, '/admin/contexts/tenant/acme')).toBe(false);
    expect(reach(acmeUser, '/')).toBe(true);
  });

  it('opens the fleet analytics to admins and operators, refreshing and downloads to admins, nothing of them to tenant users', () => {
    for (const pathname of ['/analytics', '/analytics/drift', '/api/analytics', '/api/analytics/sql', '/api/analytics/refresh', '/api/analytics/tables/all_findings.parquet']) {
      expect(reach(acmeUser, pathname), pathname).toBe(false);
      expect(reach(admin, pathname), pathname).toBe(true);
    }
    expect(reach(operator, '/analytics')).toBe(true);
    expect(reach(operator, '/api/analytics/sql')).toBe(true);
    expect(reach(operator, '/api/analytics/refresh')).toBe(false);
    expect(reach(operator, '/api/analytics/tables/all_findings.parquet')).toBe(false);
  });

  it('lets an operator read tenants and cross-tenant and run health, but not the admin context or users', () => {
    expect(reach(operator, '/tenants/globex/objects')).toBe(true);
    expect(reach(operator, '/cross-tenant/objects')).toBe(true);
    expect(reach(operator, '/admin/contexts')).toBe(true);
    expect(reach(operator, '/api/admin/contexts/tenant/acme/health')).toBe(true);
    expect(reach(operator, '/api/admin/contexts/admin/health')).toBe(false);
    expect(reach(operator, '/admin/objects')).toBe(false);
    expect(reach(operator, '/admin/users')).toBe(false);
    expect(reach(operator, '/admin/audit')).toBe(false);
  });

  it('lets an admin reach everything but malformed paths', () => {
    for (const pathname of ['/admin/objects', '/admin/users', '/admin/audit', '/tenants/acme', '/api/admin/contexts/admin/regenerate']) {
      expect(reach(admin, pathname), pathname).toBe(true);
    }
    expect(reach(admin, '/tenants/../admin')).toBe(false);
  });
});

describe('gates', () => {
  const gates: Gate[] = ['read-context', 'run-sql', 'see-contexts', 'run-health', 'regenerate', 'see-invalid-folders', 'see-fleet-health', 'manage-users', 'read-audit'];
  it.each([
    { user: admin, opens: gates },
    { user: operator, opens: ['read-context', 'run-sql', 'see-contexts', 'run-health', 'see-fleet-health'] },
    { user: acmeUser, opens: ['read-context'] },
  ])('$user.role opens exactly its gates', ({ user, opens }) => {
    expect(gates.filter((gate) => mayOpen(user, gate))).toEqual(opens);
  });

  it('keeps ad-hoc SQL from tenant users, even on their own tenant, as if it did not exist', () => {
    expect(refusalFor(acmeUser, classifyRoute('/api/tenants/acme/sql'))).toMatchObject({ status: 404, code: 'not_found' });
    expect(mayReach(operator, classifyRoute('/api/tenants/acme/sql'))).toBe(true);
    expect(mayReach(operator, classifyRoute('/admin/sql'))).toBe(false);
  });

  it('tells an operator why it may not regenerate a context it sees, and anyone else nothing', () => {
    expect(refusalFor(operator, classifyRoute('/api/admin/contexts/tenant/acme/regenerate'))).toMatchObject({ status: 403, code: 'forbidden' });
    expect(refusalFor(operator, classifyRoute('/api/admin/contexts/admin/regenerate'))).toMatchObject({ status: 404 });
    expect(refusalFor(acmeUser, classifyRoute('/api/admin/contexts/tenant/acme/regenerate'))).toMatchObject({ status: 404 });
  });

  it('judges a form action exactly as the endpoint of the same action', () => {
    for (const user of [admin, operator, acmeUser]) {
      for (const [action, context] of [['regenerate', 'tenant/acme'], ['health', 'admin'], ['health', 'cross-tenant']]) {
        expect(refusalFor(user, contextActionRoute(action, context))?.status, `${user.role} ${action} ${context}`).toBe(
          refusalFor(user, classifyRoute(`/api/admin/contexts/${context}/${action}`))?.status,
        );
      }
      expect(mayReach(user, contextActionRoute('drop', 'tenant/acme'))).toBe(false);
      expect(mayReach(user, contextActionRoute('health', 'tenant/../admin'))).toBe(false);
    }
  });

  it('shows a link only when it leads somewhere for the user', () => {
    expect(mayFollow(operator, '/tenants/acme/sql')).toBe(true);
    expect(mayFollow(acmeUser, '/tenants/acme/sql')).toBe(false);
    expect(mayFollow(operator, '/admin/users')).toBe(false);
    expect(mayFollow(admin, '/admin/users?done=create')).toBe(true);
  });
});

describe('who reads /metrics', () => {
  const token = 'x'.repeat(40);
  it('a scraper with the right bearer token, or an admin session; never anyone anonymous', () => {
    expect(metricsAccess(null, `Bearer ${token}`, token)).toBe('allowed');
    expect(metricsAccess(admin, null, token)).toBe('allowed');
    expect(metricsAccess(null, null, token)).toBe('sign-in');
    expect(metricsAccess(operator, null, token)).toBe('not-found');
  });

  it('refuses a wrong token, a token when none is set, and a token beside an admin session', () => {
    expect(metricsAccess(null, `Bearer ${token}y`, token)).toBe('bad-token');
    expect(metricsAccess(null, `Bearer ${token}`, null)).toBe('bad-token');
    expect(metricsAccess(admin, 'Bearer nope', token)).toBe('bad-token');
    expect(metricsAccess(null, `Basic ${token}`, token)).toBe('bad-token');
  });

  it('labels requests by route kind and gate, never by context', () => {
    expect(routeLabel(classifyRoute('/api/tenants/acme/objects/all_findings/rows'), true)).toBe('api:context:read-context');
    expect(routeLabel(classifyRoute('/admin/contexts/tenant/acme/snapshots'), false)).toBe('page:gated:manage-snapshots');
  });
});
