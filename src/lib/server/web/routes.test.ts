import { describe, expect, it } from 'vitest';
import { classifyRoute, contextPath, mayReach } from './routes.ts';
import type { SessionUser } from '../auth/access.ts';

const admin: SessionUser = { id: '1', username: 'admin', role: 'admin', tenants: [] };
const operator: SessionUser = { id: '2', username: 'operator', role: 'operator', tenants: [] };
const acmeUser: SessionUser = { id: '3', username: 'acme-user', role: 'tenant', tenants: ['acme'] };

describe('route classification', () => {
  it.each([
    ['/login', { kind: 'public' }],
    ['/_astro/app.css', { kind: 'public' }],
    ['/', { kind: 'signed-in' }],
    ['/api/me', { kind: 'signed-in' }],
    ['/admin/objects', { kind: 'context', context: 'admin', ctxPath: 'admin' }],
    ['/api/admin/objects/platform.tenants/rows', { kind: 'context', context: 'admin', ctxPath: 'admin' }],
    ['/cross-tenant/objects', { kind: 'context', context: 'cross-tenant', ctxPath: 'cross-tenant' }],
    ['/tenants/acme/objects/all_findings', { kind: 'context', context: 'tenant/acme', ctxPath: 'tenants/acme' }],
    ['/api/tenants/acme/objects', { kind: 'context', context: 'tenant/acme', ctxPath: 'tenants/acme' }],
    ['/admin/contexts', { kind: 'management', area: 'contexts', context: null }],
    ['/admin/contexts/tenant/acme', { kind: 'management', area: 'contexts', context: 'tenant/acme' }],
    ['/api/admin/contexts/cross-tenant/health', { kind: 'management', area: 'contexts', context: 'cross-tenant' }],
    ['/api/admin/contexts/admin/regenerate', { kind: 'management', area: 'contexts', context: 'admin' }],
    ['/admin/users', { kind: 'management', area: 'users', context: null }],
    ['/api/admin/audit', { kind: 'management', area: 'audit', context: null }],
  ])('%s', (pathname, expected) => {
    expect(classifyRoute(pathname)).toEqual(expected);
  });

  it.each(['/tenants/../admin/objects', '/tenants/%2e%2e/admin', '/tenants/acme%2f..%2fglobex/objects', '/tenants/-bad/objects', '/tenants', '/api/tenants/', '/admin/contexts/tenant/..', '/admin/contexts/nowhere', '/tenants/%E0%A4%A'])(
    '%s is not found',
    (pathname) => {
      expect(classifyRoute(pathname)).toEqual({ kind: 'not-found' });
    },
  );

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
