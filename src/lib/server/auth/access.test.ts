import { describe, expect, it } from 'vitest';
import { canSeeContext, type SessionUser } from './access.ts';

const admin: SessionUser = { id: 'a', username: 'ada', role: 'admin', tenants: [] };
const operator: SessionUser = { id: 'o', username: 'otto', role: 'operator', tenants: [] };
const acmeUser: SessionUser = { id: 't', username: 'tess', role: 'tenant', tenants: ['acme', 'globex'] };

const contexts = ['admin', 'cross-tenant', 'tenant/acme', 'tenant/globex', 'tenant/initech'] as const;

describe('who may see which context', () => {
  it.each([
    { user: admin, allowed: ['admin', 'cross-tenant', 'tenant/acme', 'tenant/globex', 'tenant/initech'] },
    { user: operator, allowed: ['cross-tenant', 'tenant/acme', 'tenant/globex', 'tenant/initech'] },
    { user: acmeUser, allowed: ['tenant/acme', 'tenant/globex'] },
  ])('$user.role sees exactly its contexts', ({ user, allowed }) => {
    expect(contexts.filter((name) => canSeeContext(user, name))).toEqual(allowed);
  });

  it('a tenant user with no tenants sees nothing', () => {
    expect(contexts.filter((name) => canSeeContext({ role: 'tenant', tenants: [] }, name))).toEqual([]);
  });

  it.each(['tenant/../admin', 'tenant/', 'tenant/acme/../globex', 'tenant/%2e%2e', 'Admin', 'tenants/acme', '', 'tenant/acme '])(
    'refuses the malformed name %j for every role',
    (name) => {
      for (const user of [admin, operator, { ...acmeUser, tenants: ['acme', '..', '%2e%2e'] }]) expect(canSeeContext(user, name)).toBe(false);
    },
  );
});
