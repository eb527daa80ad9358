import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { listAudit } from '../store/audit.ts';
import type { SessionUser } from '../auth/access.ts';
import { submitContextActionForm } from './context-actions.ts';
import type { ConsoleRuntime } from './runtime.ts';

const admin: SessionUser = { id: '1', username: 'ada', role: 'admin', tenants: [] };
const operator: SessionUser = { id: '2', username: 'otto', role: 'operator', tenants: [] };
const acmeUser: SessionUser = { id: '3', username: 'tess', role: 'tenant', tenants: ['acme'] };

let fixture: VolumeFixture;
let stateDir: string;
let store: ConsoleStore;
/** The parts of a server's runtime the actions use: the volume, the console store, and scopes. */
let runtime: ConsoleRuntime;

beforeEach(() => {
  fixture = createVolumeFixture();
  tenantWithFindings(fixture, 'acme');
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-context-actions-'));
  store = openConsoleStore(stateDir);
  runtime = { volumeDir: fixture.volumeDir, store, scopeFor: (actor: string) => ({ volumeDir: fixture.volumeDir, store, actor }) } as unknown as ConsoleRuntime;
});

afterEach(() => {
  store.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
  fixture.remove();
});

function form(action: string, context: string): FormData {
  const data = new FormData();
  data.set('action', action);
  data.set('context', context);
  return data;
}

describe('the contexts page forms', () => {
  it('regenerate for an admin, recorded in the audit trail under their name', async () => {
    const outcome = await submitContextActionForm(runtime, admin, form('regenerate', 'tenant/acme'));
    expect(outcome).toMatchObject({ context: 'tenant/acme', ok: true, status: 200, message: expect.stringMatching(/^Regenerated at \d{4}-\d\d-\d\d /) });
    expect(listAudit(store, { limit: 1 })[0]).toMatchObject({ actor: 'ada', action: 'composite.regenerate', target: 'tenant/acme', outcome: 'ok' });
  });

  it('show the problems of a composite.sql that does not regenerate, in the row', async () => {
    fixture.compositeSql('tenant/acme', "ATTACH 'quality.sqlite.db' AS quality;\nDELETE FROM quality.findings;\n");
    const outcome = await submitContextActionForm(runtime, admin, form('regenerate', 'tenant/acme'));
    expect(outcome).toMatchObject({ ok: false, status: 200, problems: [expect.objectContaining({ line: 2, message: expect.stringMatching(/DELETE is not allowed/) })] });
  });

  it('are judged by the route table as their endpoints are: refused actions change nothing', async () => {
    for (const [user, action, context] of [
      [operator, 'regenerate', 'tenant/acme'],
      [operator, 'health', 'admin'],
      [acmeUser, 'health', 'tenant/acme'],
      [admin, 'drop', 'tenant/acme'],
      [admin, 'health', 'tenant/../admin'],
    ] as const) {
      expect(await submitContextActionForm(runtime, user, form(action, context)), `${user.role} ${action} ${context}`).toMatchObject({ ok: false, status: 400, message: 'That action is not available for that context.' });
    }
    expect(listAudit(store, { limit: 10 })).toEqual([]);
  });

  it('run a health check for an operator, and answer a context that does not exist as not found', async () => {
    expect(await submitContextActionForm(runtime, operator, form('health', 'tenant/acme'))).toMatchObject({ ok: true, status: 200, message: expect.stringMatching(/^Health: /) });
    expect(await submitContextActionForm(runtime, operator, form('health', 'tenant/ghost'))).toMatchObject({ ok: false, status: 404, message: expect.stringMatching(/Nothing here/) });
  });
});
