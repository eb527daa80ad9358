import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { listAudit } from '../store/audit.ts';
import { findUserByUsername, insertUser } from '../auth/users.ts';
import { submitUserForm } from './user-forms.ts';

let tempDir: string;
let db: ConsoleStore;

beforeEach(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-user-forms-'));
  db = openConsoleStore(tempDir);
  await insertUser(db, { username: 'root-admin', password: 'admin password long enough', role: 'admin' });
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

describe('the users page forms', () => {
  it('creates a tenant user from the form fields, audited as the admin who asked', async () => {
    const outcome = await submitUserForm(db, 'root-admin', form({ action: 'create', username: 'tess', password: 'a long enough password', role: 'tenant', tenants: 'acme, globex' }));
    expect(outcome).toMatchObject({ ok: true, action: 'create', user: { username: 'tess', role: 'tenant', tenants: ['acme', 'globex'] } });
    expect(listAudit(db, { limit: 1 })[0]).toMatchObject({ actor: 'root-admin', action: 'user.create', target: 'tess', outcome: 'ok' });
  });

  it('says which form and field a refused change is about, and keeps what was typed but the password', async () => {
    const outcome = await submitUserForm(db, 'root-admin', form({ action: 'create', username: 'x', password: 'a long enough password', role: 'operator' }));
    expect(outcome).toMatchObject({ ok: false, status: 400, failure: { form: 'create', field: 'username', values: { username: 'x', role: 'operator' } } });
    expect(JSON.stringify(outcome)).not.toContain('a long enough password');
    expect(findUserByUsername(db, 'x')).toBeNull();
  });

  it('answers a row action on an unknown user with 404 on that row', async () => {
    const outcome = await submitUserForm(db, 'root-admin', form({ action: 'disable', userId: 'nobody' }));
    expect(outcome).toMatchObject({ ok: false, status: 404, failure: { form: 'disable:nobody' } });
  });

  it('refuses an action the page does not have, changing nothing', async () => {
    const before = listAudit(db, { limit: 10 }).length;
    const outcome = await submitUserForm(db, 'root-admin', form({ action: 'delete', userId: 'whoever' }));
    expect(outcome).toMatchObject({ ok: false, status: 400, failure: { message: expect.stringMatching(/not an action of this page/) } });
    expect(listAudit(db, { limit: 10 })).toHaveLength(before);
  });
});
