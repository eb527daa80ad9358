import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONSOLE_DB_FILE, openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { createLucia, type ConsoleLucia } from './lucia.ts';
import { sessionDigest } from './session-adapter.ts';
import { insertUser, setDisabled, setRole, type ConsoleUser } from './users.ts';

let tempDir: string;
let db: ConsoleStore;
let lucia: ConsoleLucia;
let admin: ConsoleUser;
let operator: ConsoleUser;

beforeEach(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-sessions-'));
  db = openConsoleStore(tempDir);
  lucia = createLucia(db);
  admin = await insertUser(db, { username: 'ada', password: 'a long enough password', role: 'admin' });
  operator = await insertUser(db, { username: 'otto', password: 'a long enough password', role: 'operator' });
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

function storedExpiry(token: string): number | undefined {
  return (db.prepare('SELECT expires_at FROM sessions WHERE id = ?').get(sessionDigest(token)) as { expires_at: number } | undefined)?.expires_at;
}

function setStoredExpiry(token: string, unixSeconds: number): void {
  db.prepare('UPDATE sessions SET expires_at = ? WHERE id = ?').run(unixSeconds, sessionDigest(token));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe('what the database keeps of a session', () => {
  it('holds no session token anywhere, only its SHA-256', async () => {
    const { id: token } = await lucia.createSession(operator.id, {});
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as Array<{ name: string }>).map((row) => row.name);
    const textValues = tables.flatMap((table) =>
      (db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][]).flat().filter((value): value is string => typeof value === 'string'),
    );
    expect(textValues.length).toBeGreaterThan(0);
    expect(textValues.filter((value) => value.includes(token))).toEqual([]);
    expect(textValues).toContain(sessionDigest(token));

    for (const file of [CONSOLE_DB_FILE, `${CONSOLE_DB_FILE}-wal`]) {
      const bytes = fs.readFileSync(path.join(tempDir, file));
      expect(bytes.includes(Buffer.from(token))).toBe(false);
    }
  });

  it('does not let a stored digest be used as a session token', async () => {
    const { id: token } = await lucia.createSession(operator.id, {});
    expect(await lucia.validateSession(sessionDigest(token))).toEqual({ user: null, session: null });
    expect((await lucia.validateSession(token)).user?.username).toBe('otto');
  });
});

describe('validating sessions', () => {
  it("resolves the user's current role and tenants", async () => {
    const { id: token } = await lucia.createSession(operator.id, {});
    expect((await lucia.validateSession(token)).user).toEqual({ id: operator.id, username: 'otto', role: 'operator', tenants: [], disabled: false });
    setRole(db, operator.id, 'tenant', ['acme']);
    expect((await lucia.validateSession(token)).user).toMatchObject({ role: 'tenant', tenants: ['acme'] });
  });

  it('signs out a disabled user even if a session row is still there', async () => {
    const { id: token } = await lucia.createSession(operator.id, {});
    db.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(operator.id);
    expect(await lucia.validateSession(token)).toEqual({ user: null, session: null });
    expect(storedExpiry(token)).toBeUndefined();
  });

  it('ends the sessions of a user disabled by an admin', async () => {
    const { id: token } = await lucia.createSession(operator.id, {});
    setDisabled(db, operator.id, true);
    expect(await lucia.validateSession(token)).toEqual({ user: null, session: null });
  });

  it('extends a session used late in its lifetime (sliding expiry)', async () => {
    const { id: token } = await lucia.createSession(admin.id, {});
    setStoredExpiry(token, nowSeconds() + 3600);
    const { session } = await lucia.validateSession(token);
    expect(session?.fresh).toBe(true);
    expect(storedExpiry(token)).toBeGreaterThan(nowSeconds() + 12 * 3600);
  });

  it('refuses and removes an expired session', async () => {
    const { id: token } = await lucia.createSession(admin.id, {});
    setStoredExpiry(token, nowSeconds() - 10);
    expect(await lucia.validateSession(token)).toEqual({ user: null, session: null });
    expect(storedExpiry(token)).toBeUndefined();
  });
});

describe('ending sessions', () => {
  it('signs out one session, or every session of a user', async () => {
    const first = await lucia.createSession(admin.id, {});
    const second = await lucia.createSession(admin.id, {});
    const other = await lucia.createSession(operator.id, {});
    expect(await lucia.getUserSessions(admin.id)).toHaveLength(2);

    await lucia.invalidateSession(first.id);
    expect((await lucia.validateSession(first.id)).session).toBeNull();
    expect((await lucia.validateSession(second.id)).session).not.toBeNull();

    await lucia.invalidateUserSessions(admin.id);
    expect((await lucia.validateSession(second.id)).session).toBeNull();
    expect((await lucia.validateSession(other.id)).session).not.toBeNull();
  });

  it('clears expired sessions and keeps live ones', async () => {
    const expired = await lucia.createSession(admin.id, {});
    const live = await lucia.createSession(admin.id, {});
    setStoredExpiry(expired.id, nowSeconds() - 10);
    await lucia.deleteExpiredSessions();
    expect(storedExpiry(expired.id)).toBeUndefined();
    expect(storedExpiry(live.id)).toBeDefined();
  });
});
