import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { listAudit, type AuditEvent } from '../store/audit.ts';
import { PasswordPolicyError } from './password.ts';
import { insertUser, findUserByUsername, UserInputError, UserNotFoundError, verifyCredentials } from './users.ts';
import { addUser, changeUserRole, disableUser, enableUser, parseTenantList, resetUserPassword } from './user-admin.ts';

let tempDir: string;
let db: ConsoleStore;

const ADMIN_PASSWORD = 'admin password long enough';
const NEW_PASSWORD = 'brand new secret phrase';

beforeEach(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-user-admin-'));
  db = openConsoleStore(tempDir);
  await insertUser(db, { username: 'root-admin', password: ADMIN_PASSWORD, role: 'admin' });
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

function lastEvent(): AuditEvent {
  const [event] = listAudit(db, { limit: 1 });
  if (!event) throw new Error('no audit event was written');
  return event;
}

function auditText(): string {
  return JSON.stringify(db.prepare('SELECT * FROM audit_events').all());
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected the change to be refused'),
    (error: Error) => error,
  );
}

function addTenantUser(username = 'tess') {
  return addUser(db, 'root-admin', { username, password: NEW_PASSWORD, role: 'tenant', tenants: ['globex', 'acme'] });
}

describe('creating users', () => {
  it('creates the user and audits who created whom, when, with which role and tenants', async () => {
    const before = new Date().toISOString();
    const user = await addTenantUser();
    const after = new Date().toISOString();
    expect(user).toMatchObject({ username: 'tess', role: 'tenant', tenants: ['acme', 'globex'], disabled: false });
    expect(lastEvent()).toMatchObject({
      actor: 'root-admin',
      action: 'user.create',
      target: 'tess',
      outcome: 'ok',
      detail: { role: 'tenant', tenants: ['acme', 'globex'] },
    });
    expect(lastEvent().at >= before && lastEvent().at <= after).toBe(true);
  });

  it('audits a refused creation with the reason and creates nobody', async () => {
    const error = await refusal(addUser(db, 'cli', { username: 'opal', password: NEW_PASSWORD, role: 'operator', tenants: ['acme'] }));
    expect(error).toBeInstanceOf(UserInputError);
    expect(findUserByUsername(db, 'opal')).toBeNull();
    expect(lastEvent()).toMatchObject({
      actor: 'cli',
      action: 'user.create',
      target: 'opal',
      outcome: 'error',
      detail: { role: 'operator', tenants: ['acme'], error: error.message },
    });
  });

  it('refuses a taken user name, whatever its case', async () => {
    const error = await refusal(addUser(db, 'cli', { username: 'ROOT-ADMIN', password: NEW_PASSWORD, role: 'admin' }));
    expect(error.message).toContain('taken');
    expect(lastEvent()).toMatchObject({ action: 'user.create', target: 'ROOT-ADMIN', outcome: 'error' });
  });

  it('refuses fields of the wrong type, as a malformed request body may carry, and audits that too', async () => {
    await expect(addUser(db, 'root-admin', { username: 42, password: NEW_PASSWORD, role: 'admin' })).rejects.toThrow(UserInputError);
    expect(lastEvent()).toMatchObject({ target: null, outcome: 'error', detail: { error: 'Give the user name as text.' } });
    await expect(addUser(db, 'root-admin', { username: 'tina', password: NEW_PASSWORD, role: 'tenant', tenants: 'acme' })).rejects.toThrow(/list of tenant ids/);
    await expect(addUser(db, 'root-admin', { username: 'tina', password: 12345678901, role: 'operator' })).rejects.toThrow(PasswordPolicyError);
    expect(findUserByUsername(db, 'tina')).toBeNull();
  });
});

describe('disabling and enabling users', () => {
  it('disables a user, ends their sign-in, and audits it under their name', async () => {
    const tess = await addTenantUser();
    const disabled = await disableUser(db, 'root-admin', { id: tess.id });
    expect(disabled.disabled).toBe(true);
    expect(await verifyCredentials(db, 'tess', NEW_PASSWORD)).toEqual({ ok: false, reason: 'disabled' });
    expect(lastEvent()).toMatchObject({ actor: 'root-admin', action: 'user.disable', target: 'tess', outcome: 'ok' });
  });

  it('enables a user again, found by user name as the command line does', async () => {
    const tess = await addTenantUser();
    await disableUser(db, 'cli', { id: tess.id });
    const enabled = await enableUser(db, 'cli', { username: 'tess' });
    expect(enabled.disabled).toBe(false);
    expect((await verifyCredentials(db, 'tess', NEW_PASSWORD)).ok).toBe(true);
    expect(lastEvent()).toMatchObject({ actor: 'cli', action: 'user.enable', target: 'tess', outcome: 'ok' });
  });

  it('refuses to disable the only active admin and audits the refusal', async () => {
    const admin = findUserByUsername(db, 'root-admin')!;
    const error = await refusal(disableUser(db, 'root-admin', { id: admin.id }));
    expect(error.message).toContain('only active admin');
    expect(findUserByUsername(db, 'root-admin')!.disabled).toBe(false);
    expect(lastEvent()).toMatchObject({ action: 'user.disable', target: 'root-admin', outcome: 'error', detail: { error: error.message } });
  });

  it('audits an unknown user with the name or id that was asked for', async () => {
    await expect(enableUser(db, 'cli', { username: 'ghost' })).rejects.toThrow(UserNotFoundError);
    expect(lastEvent()).toMatchObject({ action: 'user.enable', target: 'ghost', outcome: 'error' });
    await expect(disableUser(db, 'root-admin', { id: 'no-such-id' })).rejects.toThrow(UserNotFoundError);
    expect(lastEvent()).toMatchObject({ action: 'user.disable', target: 'no-such-id', outcome: 'error' });
  });
});

describe('changing roles', () => {
  it('changes role and tenants and audits both before and after', async () => {
    const tess = await addTenantUser();
    const operator = await changeUserRole(db, 'root-admin', { id: tess.id }, { role: 'operator', tenants: [] });
    expect(operator).toMatchObject({ role: 'operator', tenants: [] });
    expect(lastEvent()).toMatchObject({
      action: 'user.role',
      target: 'tess',
      outcome: 'ok',
      detail: { from: { role: 'tenant', tenants: ['acme', 'globex'] }, to: { role: 'operator', tenants: [] } },
    });
  });

  it('changes only the tenants of a tenant user', async () => {
    const tess = await addTenantUser();
    expect((await changeUserRole(db, 'root-admin', { id: tess.id }, { role: 'tenant', tenants: ['initech'] })).tenants).toEqual(['initech']);
    expect(lastEvent().detail).toEqual({ from: { role: 'tenant', tenants: ['acme', 'globex'] }, to: { role: 'tenant', tenants: ['initech'] } });
  });

  it('audits a role that does not exist, keeping what was asked for', async () => {
    const tess = await addTenantUser();
    const error = await refusal(changeUserRole(db, 'root-admin', { id: tess.id }, { role: 'superuser' }));
    expect(error.message).toContain('is not a role');
    expect(findUserByUsername(db, 'tess')!.role).toBe('tenant');
    expect(lastEvent()).toMatchObject({ action: 'user.role', target: 'tess', outcome: 'error', detail: { role: 'superuser', error: error.message } });
  });

  it('refuses to demote the only active admin', async () => {
    const admin = findUserByUsername(db, 'root-admin')!;
    await expect(changeUserRole(db, 'root-admin', { id: admin.id }, { role: 'operator' })).rejects.toThrow(/only active admin/);
    expect(lastEvent()).toMatchObject({ action: 'user.role', target: 'root-admin', outcome: 'error' });
  });
});

describe('resetting passwords', () => {
  it('sets the new password, ends old sessions and audits it', async () => {
    const tess = await addTenantUser();
    db.prepare('INSERT INTO sessions (id, user_id, expires_at) VALUES (?, ?, ?)').run('digest', tess.id, Math.floor(Date.now() / 1000) + 3600);
    await resetUserPassword(db, 'root-admin', { id: tess.id }, 'another long passphrase');
    expect((await verifyCredentials(db, 'tess', 'another long passphrase')).ok).toBe(true);
    expect((await verifyCredentials(db, 'tess', NEW_PASSWORD)).ok).toBe(false);
    expect(db.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ?').get(tess.id)).toEqual({ n: 0 });
    expect(lastEvent()).toMatchObject({ actor: 'root-admin', action: 'user.password', target: 'tess', outcome: 'ok' });
  });

  it('audits a password that breaks the policy and keeps the old one', async () => {
    const tess = await addTenantUser();
    await expect(resetUserPassword(db, 'cli', { username: 'tess' }, 'short')).rejects.toThrow(PasswordPolicyError);
    expect((await verifyCredentials(db, 'tess', NEW_PASSWORD)).ok).toBe(true);
    expect(lastEvent()).toMatchObject({ actor: 'cli', action: 'user.password', target: tess.username, outcome: 'error' });
  });
});

describe('the audit log of user management', () => {
  it('never contains a password, whether the change worked or not', async () => {
    const tess = await addTenantUser();
    await resetUserPassword(db, 'root-admin', { id: tess.id }, 'reset passphrase one');
    await refusal(resetUserPassword(db, 'root-admin', { id: tess.id }, 'tiny-pw'));
    await refusal(resetUserPassword(db, 'root-admin', { id: 'missing' }, 'missing user passphrase'));
    await refusal(addUser(db, 'root-admin', { username: 'tess', password: 'duplicate user passphrase', role: 'tenant', tenants: ['acme'] }));
    await refusal(addUser(db, 'root-admin', { username: 'x', password: 'bad name passphrase', role: 'admin' }));
    const text = auditText();
    for (const password of [NEW_PASSWORD, 'reset passphrase one', 'tiny-pw', 'missing user passphrase', 'duplicate user passphrase', 'bad name passphrase']) {
      expect(text).not.toContain(password);
    }
    expect(listAudit(db, { limit: 10 }).map((event) => event.outcome)).toEqual(['error', 'error', 'error', 'error', 'ok', 'ok']);
  });
});

describe('tenant lists typed into a form', () => {
  it('splits on commas, spaces and new lines and drops empty entries', () => {
    expect(parseTenantList(' acme, globex\ninitech  ,,')).toEqual(['acme', 'globex', 'initech']);
    expect(parseTenantList('   ')).toEqual([]);
  });
});
