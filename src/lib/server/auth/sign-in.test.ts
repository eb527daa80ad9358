import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { listAudit } from '../store/audit.ts';
import { createLucia, SESSION_COOKIE_NAME, type ConsoleLucia } from './lucia.ts';
import { LOGIN_LIMITS } from './rate-limit.ts';
import { insertUser, setDisabled } from './users.ts';
import { DISABLED_ACCOUNT_MESSAGE, INVALID_CREDENTIALS_MESSAGE, signIn, signOut } from './sign-in.ts';

let tempDir: string;
let db: ConsoleStore;
let lucia: ConsoleLucia;

const PASSWORD = 'the right passphrase';
const address = '203.0.113.7';

beforeEach(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-sign-in-'));
  db = openConsoleStore(tempDir);
  lucia = createLucia(db, { publicOrigin: null });
  await insertUser(db, { username: 'olga', password: PASSWORD, role: 'operator' });
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

function failureCount(): number {
  return (db.prepare('SELECT count(*) AS n FROM login_attempts').get() as { n: number }).n;
}

describe('signing in', () => {
  it('starts a session whose cookie signs the user in, and audits the sign-in', async () => {
    const result = await signIn(db, lucia, { username: 'olga', password: PASSWORD, address });
    if (!result.ok) expect.fail(result.message);
    expect(result.cookie.name).toBe(SESSION_COOKIE_NAME);
    const validated = await lucia.validateSession(result.cookie.value);
    expect(validated.user?.username).toBe('olga');
    expect(listAudit(db, { limit: 1 })[0]).toMatchObject({ actor: 'olga', action: 'user.sign-in', outcome: 'ok', detail: { address } });
  });

  it('answers a wrong password and an unknown user name with the same message, and counts both', async () => {
    const wrongPassword = await signIn(db, lucia, { username: 'olga', password: 'not the passphrase', address });
    const unknownUser = await signIn(db, lucia, { username: 'nobody', password: PASSWORD, address });
    expect(wrongPassword).toEqual({ ok: false, reason: 'invalid', message: INVALID_CREDENTIALS_MESSAGE });
    expect(unknownUser).toEqual(wrongPassword);
    expect(failureCount()).toBe(6); // per user name at the address, per user name and per address, for each attempt
  });

  it('tells a disabled user so only when the password was right', async () => {
    const olga = (db.prepare("SELECT id FROM users WHERE username = 'olga'").get() as { id: string }).id;
    setDisabled(db, olga, true);
    expect(await signIn(db, lucia, { username: 'olga', password: 'a wrong passphrase', address })).toMatchObject({ reason: 'invalid', message: INVALID_CREDENTIALS_MESSAGE });
    expect(await signIn(db, lucia, { username: 'olga', password: PASSWORD, address })).toMatchObject({ reason: 'disabled', message: DISABLED_ACCOUNT_MESSAGE });
    expect(listAudit(db, { limit: 1 })[0]).toMatchObject({ action: 'user.sign-in', target: 'olga', outcome: 'denied' });
  });

  it('refuses even the right password once the user name is rate limited, without checking it', async () => {
    for (let i = 0; i < LOGIN_LIMITS.perUsernameAndAddress; i++) await signIn(db, lucia, { username: 'olga', password: `wrong guess ${i}`, address });
    const blocked = await signIn(db, lucia, { username: 'olga', password: PASSWORD, address });
    if (blocked.ok || blocked.reason !== 'rate_limited') expect.fail('expected the sign-in to be rate limited');
    expect(blocked.message).toMatch(/Too many sign-in attempts for this user name from your network address; try again in \d+ minutes?\./);
    expect(blocked.retryAfterSeconds).toBeGreaterThan(0);
    expect(failureCount()).toBe(3 * LOGIN_LIMITS.perUsernameAndAddress);
    // The owner, elsewhere, still signs in.
    expect((await signIn(db, lucia, { username: 'olga', password: PASSWORD, address: '192.0.2.200' })).ok).toBe(true);
  });

  it('forgets earlier failures of the user name after a successful sign-in', async () => {
    for (let i = 0; i < LOGIN_LIMITS.perUsernameAndAddress - 1; i++) await signIn(db, lucia, { username: 'olga', password: `wrong guess ${i}`, address });
    expect((await signIn(db, lucia, { username: 'olga', password: PASSWORD, address })).ok).toBe(true);
    expect((await signIn(db, lucia, { username: 'olga', password: 'one more wrong guess', address })).ok).toBe(false);
    expect((await signIn(db, lucia, { username: 'olga', password: PASSWORD, address })).ok).toBe(true);
  });
});

describe('signing out', () => {
  it('ends the session and clears the cookie', async () => {
    const result = await signIn(db, lucia, { username: 'olga', password: PASSWORD, address });
    if (!result.ok) expect.fail(result.message);
    const blank = await signOut(lucia, result.cookie.value);
    expect(blank.value).toBe('');
    expect((await lucia.validateSession(result.cookie.value)).session).toBeNull();
  });

  it('clears the cookie when there was no session', async () => {
    expect((await signOut(lucia, null)).value).toBe('');
  });
});
