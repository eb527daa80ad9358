import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { PasswordPolicyError } from './password.ts';
import {
  insertUser,
  findUserByUsername,
  getUser,
  listUsers,
  resetPassword,
  setDisabled,
  setRole,
  setTenants,
  UserInputError,
  UserNotFoundError,
  verifyCredentials,
  type NewUser,
} from './users.ts';

let tempDir: string;
let db: ConsoleStore;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-users-'));
  db = openConsoleStore(tempDir);
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

const PASSWORD = 'a long enough password';

function create(overrides: Partial<NewUser> = {}) {
  return insertUser(db, { username: 'ada', password: PASSWORD, role: 'admin', ...overrides });
}

function sessionCount(userId: string): number {
  return (db.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ?').get(userId) as { n: number }).n;
}

function addSession(userId: string, digest: string): void {
  db.prepare('INSERT INTO sessions (id, user_id, expires_at) VALUES (?, ?, ?)').run(digest, userId, Math.floor(Date.now() / 1000) + 3600);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected the call to be refused'),
    (error: Error) => error,
  );
}

describe('creating users', () => {
  it('stores the user with sorted, distinct tenants and no password in the record', async () => {
    const user = await create({ username: 'tess', role: 'tenant', tenants: ['globex', 'acme', 'globex'] });
    expect(user).toMatchObject({ username: 'tess', role: 'tenant', tenants: ['acme', 'globex'], disabled: false });
    expect(JSON.stringify(user)).not.toContain(PASSWORD);
    expect(getUser(db, user.id)).toEqual(user);
  });

  it('finds users by name regardless of case and lists them by name', async () => {
    await create({ username: 'Zoe', role: 'operator' });
    await create({ username: 'ada' });
    expect(findUserByUsername(db, 'zoe')?.username).toBe('Zoe');
    expect(findUserByUsername(db, 'nobody')).toBeNull();
    expect(listUsers(db).map((user) => user.username)).toEqual(['ada', 'Zoe']);
  });

  it.each([
    ['ab', /not a valid user name: use 3 to 64/],
    ['-dash', /starting with a letter or digit/],
    ['has space', /not a valid user name/],
    ['a'.repeat(65), /not a valid user name/],
    ['System', /reserved for the audit log/],
    ['cli', /reserved for the audit log/],
  ])('refuses the user name %j', async (username, message) => {
    const error = await rejection(create({ username }));
    expect(error).toBeInstanceOf(UserInputError);
    expect(error).toMatchObject({ field: 'username' });
    expect(error.message).toMatch(message);
  });

  it('refuses a name taken in any case', async () => {
    await create({ username: 'ada' });
    const error = await rejection(create({ username: 'ADA' }));
    expect(error).toMatchObject({ field: 'username', message: expect.stringMatching(/"ADA" is taken/) });
  });

  it('refuses an unknown role', async () => {
    const error = await rejection(create({ role: 'root' as 'admin' }));
    expect(error).toMatchObject({ field: 'role', message: '"root" is not a role: use admin, operator, tenant.' });
  });

  it('requires a tenant user to have at least one valid tenant id', async () => {
    expect(await rejection(create({ role: 'tenant', tenants: [] }))).toMatchObject({ field: 'tenants', message: expect.stringMatching(/at least one tenant/) });
    expect(await rejection(create({ role: 'tenant', tenants: ['acme', '../admin'] }))).toMatchObject({
      field: 'tenants',
      message: expect.stringMatching(/"\.\.\/admin" is not a tenant id/),
    });
  });

  it('refuses tenants on roles that read every tenant anyway', async () => {
    expect(await rejection(create({ role: 'operator', tenants: ['acme'] }))).toMatchObject({ field: 'tenants', message: expect.stringMatching(/Only tenant users/) });
  });

  it('refuses a weak password without creating the user', async () => {
    expect(await rejection(create({ password: 'short' }))).toBeInstanceOf(PasswordPolicyError);
    expect(listUsers(db)).toEqual([]);
  });
});

describe('changing users', () => {
  it('moves a user to the tenant role with tenants, and away from it dropping them', async () => {
    await create({ username: 'root-admin' });
    const user = await create({ username: 'otto', role: 'operator' });
    expect(() => setRole(db, user.id, 'tenant')).toThrow(/at least one tenant/);
    expect(setRole(db, user.id, 'tenant', ['acme'])).toMatchObject({ role: 'tenant', tenants: ['acme'] });
    expect(setTenants(db, user.id, ['initech', 'acme']).tenants).toEqual(['acme', 'initech']);
    expect(setRole(db, user.id, 'operator')).toMatchObject({ role: 'operator', tenants: [] });
  });

  it('refuses to set tenants on an admin', async () => {
    const user = await create();
    expect(() => setTenants(db, user.id, ['acme'])).toThrow(UserInputError);
  });

  it('keeps at least one active admin', async () => {
    const only = await create();
    expect(() => setDisabled(db, only.id, true)).toThrow(/only active admin/);
    expect(() => setRole(db, only.id, 'operator')).toThrow(/make another user admin first/);
    const second = await create({ username: 'grace' });
    expect(setDisabled(db, only.id, true).disabled).toBe(true);
    expect(() => setRole(db, second.id, 'operator')).toThrow(UserInputError);
  });

  it('ends every session of a user who is disabled', async () => {
    await create();
    const user = await create({ username: 'otto', role: 'operator' });
    addSession(user.id, 'digest-1');
    addSession(user.id, 'digest-2');
    setDisabled(db, user.id, true);
    expect(sessionCount(user.id)).toBe(0);
    expect(setDisabled(db, user.id, false).disabled).toBe(false);
  });

  it('resets a password, signing the user out everywhere', async () => {
    const user = await create();
    addSession(user.id, 'digest-1');
    await resetPassword(db, user.id, 'a brand new passphrase');
    expect(sessionCount(user.id)).toBe(0);
    expect(await verifyCredentials(db, 'ada', PASSWORD)).toEqual({ ok: false, reason: 'invalid' });
    expect(await verifyCredentials(db, 'ada', 'a brand new passphrase')).toMatchObject({ ok: true });
  });

  it('names a user that does not exist', async () => {
    expect(() => setDisabled(db, 'missing-id', true)).toThrow(UserNotFoundError);
    expect(await rejection(resetPassword(db, 'missing-id', 'a brand new passphrase'))).toBeInstanceOf(UserNotFoundError);
  });
});

describe('checking credentials', () => {
  it('accepts the right password for the user name in any case', async () => {
    await create({ username: 'Ada' });
    expect(await verifyCredentials(db, 'ada', PASSWORD)).toMatchObject({ ok: true, user: { username: 'Ada' } });
  });

  it('gives the same answer for an unknown user as for a wrong password', async () => {
    await create();
    expect(await verifyCredentials(db, 'ada', 'wrong password here')).toEqual({ ok: false, reason: 'invalid' });
    expect(await verifyCredentials(db, 'nobody', PASSWORD)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('tells a disabled user with the right password that the account is disabled', async () => {
    await create({ username: 'root-admin' });
    const user = await create({ username: 'otto', role: 'operator' });
    setDisabled(db, user.id, true);
    expect(await verifyCredentials(db, 'otto', PASSWORD)).toEqual({ ok: false, reason: 'disabled' });
    expect(await verifyCredentials(db, 'otto', 'wrong password here')).toEqual({ ok: false, reason: 'invalid' });
  });
});
