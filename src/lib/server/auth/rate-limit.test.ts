import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { addressKey, checkLoginAllowed, recordLoginSuccess, LOGIN_LIMITS, recordLoginFailure } from './rate-limit.ts';

let tempDir: string;
let db: ConsoleStore;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-rate-limit-'));
  db = openConsoleStore(tempDir);
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

const start = new Date('2025-06-01T12:00:00Z');

function at(secondsAfterStart: number): Date {
  return new Date(start.getTime() + secondsAfterStart * 1000);
}

function fail(times: number, attempt: { address: string; username: string }, secondsAfterStart = 0): void {
  for (let i = 0; i < times; i++) recordLoginFailure(db, { ...attempt, now: at(secondsAfterStart) });
}

describe('sign-in rate limit per user name and address', () => {
  it('blocks after the allowed failures and says when to try again', () => {
    const attempt = { address: '10.0.0.1', username: 'ada' };
    fail(LOGIN_LIMITS.perUsernameAndAddress - 1, attempt);
    expect(checkLoginAllowed(db, { ...attempt, now: at(1) })).toEqual({ allowed: true });

    fail(1, attempt);
    const decision = checkLoginAllowed(db, { ...attempt, now: at(60) });
    expect(decision).toEqual({
      allowed: false,
      retryAfterSeconds: LOGIN_LIMITS.windowSeconds - 60,
      message: 'Too many sign-in attempts for this user name from your network address; try again in 14 minutes.',
    });
  });

  it('counts the same name in any case', () => {
    for (let i = 0; i < LOGIN_LIMITS.perUsernameAndAddress; i++) recordLoginFailure(db, { address: '10.0.0.1', username: i % 2 ? 'ADA' : 'ada', now: start });
    expect(checkLoginAllowed(db, { address: '10.0.0.1', username: 'Ada', now: start }).allowed).toBe(false);
    expect(checkLoginAllowed(db, { address: '10.0.0.1', username: 'grace', now: start }).allowed).toBe(true);
  });

  it('does not let a guesser at one address lock the owner out at another', () => {
    fail(LOGIN_LIMITS.perUsernameAndAddress, { address: '203.0.113.7', username: 'admin' });
    expect(checkLoginAllowed(db, { address: '203.0.113.7', username: 'admin', now: at(1) }).allowed).toBe(false);
    expect(checkLoginAllowed(db, { address: '10.0.0.1', username: 'admin', now: at(1) })).toEqual({ allowed: true });
  });

  it('stops a guesser spread over many addresses at a far higher ceiling for the name', () => {
    expect(LOGIN_LIMITS.perUsername).toBeGreaterThanOrEqual(10 * LOGIN_LIMITS.perUsernameAndAddress);
    for (let i = 0; i < LOGIN_LIMITS.perUsername; i++) recordLoginFailure(db, { address: `198.51.${Math.floor(i / 250)}.${i % 250}`, username: 'ada', now: start });
    expect(checkLoginAllowed(db, { address: '10.0.0.1', username: 'ada', now: at(120) })).toEqual({
      allowed: false,
      retryAfterSeconds: LOGIN_LIMITS.windowSeconds - 120,
      message: 'Too many sign-in attempts for this user name from many addresses; try again in 13 minutes.',
    });
  });

  it('holds the ceiling of a name at addresses it never signed in from, not at those it did', () => {
    recordLoginSuccess(db, 'admin', '10.0.0.1', at(-3600));
    for (let i = 0; i < LOGIN_LIMITS.perUsername; i++) recordLoginFailure(db, { address: `198.51.${Math.floor(i / 250)}.${i % 250}`, username: 'admin', now: start });
    expect(checkLoginAllowed(db, { address: '10.0.0.2', username: 'admin', now: at(1) }).allowed).toBe(false);
    expect(checkLoginAllowed(db, { address: '10.0.0.1', username: 'admin', now: at(1) })).toEqual({ allowed: true });
    // An address is the user's for a while only.
    recordLoginSuccess(db, 'admin', '10.0.0.3', at(-LOGIN_LIMITS.knownAddressSeconds));
    expect(checkLoginAllowed(db, { address: '10.0.0.3', username: 'admin', now: at(1) }).allowed).toBe(false);
  });

  it('lets the user in again once the failures are older than the window', () => {
    const attempt = { address: '10.0.0.1', username: 'ada' };
    fail(LOGIN_LIMITS.perUsernameAndAddress, attempt);
    expect(checkLoginAllowed(db, { ...attempt, now: at(LOGIN_LIMITS.windowSeconds - 1) })).toMatchObject({
      allowed: false,
      message: expect.stringMatching(/try again in 1 minute\.$/),
    });
    expect(checkLoginAllowed(db, { ...attempt, now: at(LOGIN_LIMITS.windowSeconds) })).toEqual({ allowed: true });
  });

  it('is cleared by a successful sign-in from that address', () => {
    const attempt = { address: '10.0.0.1', username: 'ada' };
    fail(LOGIN_LIMITS.perUsernameAndAddress, attempt);
    recordLoginSuccess(db, 'ADA', '10.0.0.1');
    expect(checkLoginAllowed(db, { ...attempt, now: start })).toEqual({ allowed: true });
  });

  it('survives a restart', () => {
    const attempt = { address: '10.0.0.1', username: 'ada' };
    fail(LOGIN_LIMITS.perUsernameAndAddress, attempt);
    db.close();
    db = openConsoleStore(tempDir);
    expect(checkLoginAllowed(db, { ...attempt, now: start }).allowed).toBe(false);
  });
});

describe('sign-in rate limit per address', () => {
  it('blocks an address that tries many user names, whichever name comes next', () => {
    for (let i = 0; i < LOGIN_LIMITS.perAddress; i++) recordLoginFailure(db, { address: '203.0.113.7', username: `user${i}`, now: start });
    expect(checkLoginAllowed(db, { address: '203.0.113.7', username: 'fresh-name', now: at(30) })).toEqual({
      allowed: false,
      retryAfterSeconds: LOGIN_LIMITS.windowSeconds - 30,
      message: 'Too many sign-in attempts from your network address; try again in 15 minutes.',
    });
    expect(checkLoginAllowed(db, { address: '203.0.113.8', username: 'fresh-name', now: at(30) })).toEqual({ allowed: true });
  });

  it('is not cleared when one of the names signs in', () => {
    for (let i = 0; i < LOGIN_LIMITS.perAddress; i++) recordLoginFailure(db, { address: '203.0.113.7', username: `user${i}`, now: start });
    recordLoginSuccess(db, 'user0', '203.0.113.7');
    expect(checkLoginAllowed(db, { address: '203.0.113.7', username: 'user0', now: start }).allowed).toBe(false);
  });

  it('counts an IPv6 client by its /64 and a mapped IPv4 client as IPv4', () => {
    expect(addressKey('2001:db8:1:2::1')).toBe(addressKey('2001:db8:1:2:ffff:eeee:dddd:cccc'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('2001:DB8:0001:0002::1')).toBe(addressKey('2001:db8:1:2::9'));
    expect(addressKey('::ffff:192.0.2.1')).toBe(addressKey('192.0.2.1'));
  });
});
