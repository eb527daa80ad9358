import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeConsoleStore, openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { createLucia, getLucia, SESSION_COOKIE_NAME } from './lucia.ts';

let tempDir: string;
let db: ConsoleStore;
const savedNodeEnv = process.env.NODE_ENV;
const savedStateDir = process.env.TRUTH_YARD_STATE_DIR;

function restore(name: 'NODE_ENV' | 'TRUTH_YARD_STATE_DIR', value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-lucia-'));
  db = openConsoleStore(tempDir);
});

afterEach(() => {
  db.close();
  closeConsoleStore();
  restore('NODE_ENV', savedNodeEnv);
  restore('TRUTH_YARD_STATE_DIR', savedStateDir);
  fs.rmSync(tempDir, { recursive: true, force: true });
});

describe('the session cookie', () => {
  it('is yard_session, httpOnly, SameSite=Lax, for the whole site', () => {
    const cookie = createLucia(db, { publicOrigin: null }).createSessionCookie('token').serialize();
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE_NAME}=token;`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
  });

  it('is sent over HTTPS only when the console is served at an https origin', () => {
    expect(createLucia(db, { publicOrigin: 'https://console.example' }).createSessionCookie('token').serialize()).toContain('Secure');
    expect(createLucia(db, { publicOrigin: 'http://console.example:8080' }).createSessionCookie('token').serialize()).not.toContain('Secure');
    // Whatever NODE_ENV says: a Secure cookie over plain HTTP would sign nobody in.
    process.env.NODE_ENV = 'production';
    expect(createLucia(db, { publicOrigin: null }).createSessionCookie('token').serialize()).not.toContain('Secure');
  });

  it('is cleared on sign-out', () => {
    const blank = createLucia(db).createBlankSessionCookie().serialize();
    expect(blank).toMatch(new RegExp(`^${SESSION_COOKIE_NAME}=;`));
    expect(blank).toContain('Max-Age=0');
  });
});

describe('the process-wide instance', () => {
  it('uses the configured console database and follows it when reopened', () => {
    process.env.TRUTH_YARD_STATE_DIR = path.join(tempDir, 'configured');
    const first = getLucia();
    expect(getLucia()).toBe(first);
    closeConsoleStore();
    expect(getLucia()).not.toBe(first);
  });
});
