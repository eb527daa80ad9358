import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { recordRegeneration } from '../store/regenerations.ts';
import { resolveContext } from '../volume/contexts.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { forgetCompositeStatesExcept } from '../composite/status.ts';
import { VolumeStatusIndex } from '../composite/status-index.ts';
import type { SessionUser } from '../auth/access.ts';
import { listContextsFor, runHealthCheck, type ContextListing } from './operations.ts';

let fixture: VolumeFixture;
let stateDir: string;
let store: ConsoleStore;
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

const admin = { id: 'u1', username: 'admin', role: 'admin', tenants: [] } as unknown as SessionUser;
const operator = { id: 'u2', username: 'operator', role: 'operator', tenants: [] } as unknown as SessionUser;

beforeEach(() => {
  fixture = createVolumeFixture();
  fixture.database('admin', 'admin.sqlite.db', 'CREATE TABLE t (x);');
  fixture.compositeSql('admin', "ATTACH 'admin.sqlite.db' AS admin_db;\n");
  regenerateComposite(resolveContext(fixture.volumeDir, 'admin'));
  for (const id of ['acme', 'globex', 'initech']) regenerateComposite(resolveContext(fixture.volumeDir, tenantWithFindings(fixture, id)));
  // Never generated: missing.
  tenantWithFindings(fixture, 'hooli');
  // The console's state beside the volume's embedded/ folder, removed with it.
  stateDir = path.join(fixture.volumeDir, 'state');
  store = openConsoleStore(stateDir);
});

afterEach(() => {
  store.close();
  fixture.remove();
});

const names = (listing: ContextListing) => listing.contexts.map((summary) => `${summary.context.name}:${summary.state.status}`);
const edit = (context: string) => fs.appendFileSync(path.join(fixture.volumeDir, 'embedded', context, 'composite.sql'), '\n-- edited\n');

describe('the contexts list', () => {
  it('lists problems first, then by name, with counts over every visible context, and pages, searches and filters them', async () => {
    const index = new VolumeStatusIndex(fixture.volumeDir);
    const scope = { store, statusIndex: index };
    edit('tenant/initech');
    const all = await listContextsFor(scope, admin, {});
    expect(names(all)).toEqual(['tenant/initech:stale', 'tenant/hooli:missing', 'admin:fresh', 'tenant/acme:fresh', 'tenant/globex:fresh']);
    expect(all.counts).toEqual({ broken: 0, stale: 1, missing: 1, fresh: 3 });
    expect(all.total).toBe(5);

    // An operator's list and counts leave out the admin context, though an admin's were worked out first.
    const operators = await listContextsFor(scope, operator, {});
    expect(names(operators)).toEqual(['tenant/initech:stale', 'tenant/hooli:missing', 'tenant/acme:fresh', 'tenant/globex:fresh']);
    expect(operators.counts.fresh).toBe(2);

    expect(names(await listContextsFor(scope, admin, { pageSize: 2, page: 2 }))).toEqual(['admin:fresh', 'tenant/acme:fresh']);
    const searched = await listContextsFor(scope, admin, { search: ' GLOB ' });
    expect([names(searched), searched.total, searched.counts.fresh]).toEqual([['tenant/globex:fresh'], 1, 3]);
    expect(names(await listContextsFor(scope, admin, { status: 'fresh', pageSize: 2 }))).toEqual(['admin:fresh', 'tenant/acme:fresh']);

    // A change on disk shows on the next list, in its order and its counts.
    edit('tenant/acme');
    const after = await listContextsFor(scope, admin, {});
    expect(names(after)).toEqual(['tenant/acme:stale', 'tenant/initech:stale', 'tenant/hooli:missing', 'admin:fresh', 'tenant/globex:fresh']);
    expect(after.counts).toEqual({ broken: 0, stale: 2, missing: 1, fresh: 2 });
  });

  it('checks the contexts it shows on the request when the other statuses are older, and orders and counts by what it found', async () => {
    await new VolumeStatusIndex(fixture.volumeDir, () => store).statuses();
    await settle();
    // A restart: the statuses come from the console store, kept while everything was fresh or missing.
    forgetCompositeStatesExcept(new Set());
    edit('tenant/globex');
    const listing = await listContextsFor({ store, statusIndex: new VolumeStatusIndex(fixture.volumeDir, () => store) }, admin, {});
    expect(listing.checkedNow).toBe(false);
    expect(names(listing)).toEqual(['tenant/globex:stale', 'tenant/hooli:missing', 'admin:fresh', 'tenant/acme:fresh', 'tenant/initech:fresh']);
    expect(listing.counts).toEqual({ broken: 0, stale: 1, missing: 1, fresh: 3 });
    expect(listing.contexts[0].state.reasons).toEqual(['composite.sql changed since the last regeneration']);
  });

  it('shows the latest regeneration and health run, whether this process or another recorded it', async () => {
    const scope = { store, statusIndex: new VolumeStatusIndex(fixture.volumeDir) };
    const acme = async () => (await listContextsFor(scope, admin, { search: 'acme' })).contexts[0];
    expect((await acme()).lastHealth).toBeNull();

    runHealthCheck({ volumeDir: fixture.volumeDir, store, actor: 'test' }, 'tenant/acme');
    expect((await acme()).lastHealth).toMatchObject({ context: 'tenant/acme', worstSeverity: 'ok' });

    // Another process (a `yard regenerate`) writes to the same console database.
    const other = openConsoleStore(stateDir);
    try {
      const at = new Date(Date.now() + 1000);
      recordRegeneration(other, { context: 'tenant/acme', startedAt: at, finishedAt: at, outcome: 'error', sourceSha256: null, problems: [], actor: 'cli' });
    } finally {
      other.close();
    }
    expect((await acme()).lastRegeneration).toMatchObject({ outcome: 'error', actor: 'cli' });
  });
});
