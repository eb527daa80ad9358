import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { resolveContext, UnknownContextError } from '../volume/contexts.ts';
import { regenerateComposite } from './regenerate.ts';
import { CompositePool, DescriptorBudgetError, descriptorShares } from './pool.ts';
import { CompositeUnavailableError } from './connect.ts';

let fixture: VolumeFixture;
beforeEach(() => {
  fixture = createVolumeFixture();
});
afterEach(() => fixture.remove());

function regenerateTenants(ids: string[]): void {
  for (const id of ids) regenerateComposite(resolveContext(fixture.volumeDir, tenantWithFindings(fixture, id)));
}

describe('connection pool', () => {
  it('hands out the same connection while the auto.db is unchanged', () => {
    regenerateTenants(['acme']);
    const pool = new CompositePool(fixture.volumeDir, 4);
    expect(pool.acquire('tenant/acme')).toBe(pool.acquire('tenant/acme'));
    pool.closeAll();
  });

  it('reopens a connection after the composite is regenerated with a new view', () => {
    regenerateTenants(['acme']);
    const pool = new CompositePool(fixture.volumeDir, 4);
    const first = pool.acquire('tenant/acme');
    const context = resolveContext(fixture.volumeDir, 'tenant/acme');
    fs.appendFileSync(`${context.dir}/composite.sql`, `CREATE VIEW high_findings AS SELECT * FROM all_findings WHERE severity = 'high';\n`);
    expect(regenerateComposite(context).ok).toBe(true);
    const second = pool.acquire('tenant/acme');
    expect(second).not.toBe(first);
    expect(first.db.open).toBe(false);
    expect(second.db.prepare('SELECT count(*) AS n FROM high_findings').get()).toEqual({ n: 1 });
    pool.closeAll();
  });

  it('keeps at most its capacity of connections open, closing the least recently used', () => {
    regenerateTenants(['a', 'b', 'c']);
    const pool = new CompositePool(fixture.volumeDir, 2);
    const a = pool.acquire('tenant/a');
    pool.acquire('tenant/b');
    pool.acquire('tenant/a');
    pool.acquire('tenant/c');
    expect(pool.size).toBe(2);
    expect(a.db.open).toBe(true);
    expect(pool.acquire('tenant/a')).toBe(a);
    pool.closeAll();
    expect(a.db.open).toBe(false);
  });

  it('defers closing an evicted connection that is still streaming rows', () => {
    regenerateTenants(['a', 'b']);
    const pool = new CompositePool(fixture.volumeDir, 1);
    const a = pool.acquire('tenant/a');
    const rows = a.db.prepare('SELECT * FROM all_findings').iterate();
    rows.next();
    pool.acquire('tenant/b');
    expect(a.db.open).toBe(true);
    expect([...rows]).toHaveLength(2);
    pool.acquire('tenant/b');
    expect(a.db.open).toBe(false);
    pool.closeAll();
  });

  it('refuses unknown and malformed context names', () => {
    const pool = new CompositePool(fixture.volumeDir, 2);
    fixture.contextDir('admin');
    expect(() => pool.acquire('tenant/nobody')).toThrow(UnknownContextError);
    expect(() => pool.acquire('tenant/../admin')).toThrow(UnknownContextError);
    expect(() => pool.acquire('admin')).toThrow(CompositeUnavailableError);
  });

  it('keeps the descriptors of its connections within the budget, closing the least recently used first', () => {
    regenerateTenants(['acme', 'globex', 'initech']);
    // Each tenant of the fixture attaches two databases: three descriptors per connection.
    const pool = new CompositePool(fixture.volumeDir, 100, { fdBudget: 7 });
    const acme = pool.acquire('tenant/acme');
    const globex = pool.acquire('tenant/globex');
    expect(pool.descriptors).toBe(6);
    pool.acquire('tenant/acme');
    const initech = pool.acquire('tenant/initech');
    expect(pool.descriptors).toBe(6);
    expect(globex.db.open).toBe(false);
    expect(acme.db.open).toBe(true);
    expect(initech.db.open).toBe(true);
    pool.closeAll();
  });

  it('makes room for what it lends to other processes by closing its least recently used connections, and refuses a loan with no room', () => {
    regenerateTenants(['acme', 'globex', 'initech']);
    const pool = new CompositePool(fixture.volumeDir, 100, { fdBudget: 8 });
    const acme = pool.acquire('tenant/acme');
    const globex = pool.acquire('tenant/globex');
    expect(pool.descriptors).toBe(6);
    // An export of globex: its process's connection holds what globex's holds here.
    const returnGlobex = pool.lend('tenant/globex');
    expect(pool.lent).toBe(3);
    expect(acme.db.open).toBe(false);
    expect(globex.db.open).toBe(true);
    // initech is not open here: it is lent what its folder's files could take, an auto.db and two databases.
    const returnInitech = pool.lend('tenant/initech');
    expect(pool.lent).toBe(6);
    expect(globex.db.open).toBe(false);
    expect(pool.descriptors + pool.lent).toBeLessThanOrEqual(8);
    // A third has no room while the other two run: retry.
    expect(() => pool.lend('tenant/acme')).toThrow(DescriptorBudgetError);
    returnGlobex();
    returnGlobex();
    returnInitech();
    expect(pool.lent).toBe(0);
    // The first loan is made even beyond the budget, as the pool always keeps the connection in use.
    const tiny = new CompositePool(fixture.volumeDir, 100, { fdBudget: 2 });
    tiny.acquire('tenant/initech');
    const returnTiny = tiny.lend('tenant/initech');
    expect(tiny.size).toBe(0);
    expect(() => tiny.lend('tenant/acme')).toThrow(DescriptorBudgetError);
    returnTiny();
    pool.closeAll();
  });
});

describe('descriptor shares', () => {
  it('gives each read process a part and the server the rest, never more than the budget in all', () => {
    for (const [total, readProcesses] of [[512, 2], [64, 2], [16, 64], [1000, 3]] as const) {
      const shares = descriptorShares(total, readProcesses);
      expect(shares.server + shares.readProcess * readProcesses).toBe(total);
      expect(shares.server).toBeGreaterThanOrEqual(2 * shares.readProcess);
    }
    expect(descriptorShares(512, 2)).toEqual({ server: 256, readProcess: 128 });
  });
});
