import crypto from 'node:crypto';
import net from 'node:net';
import type { ConsoleStore } from '../store/database.ts';

/**
 * Failures allowed within the window before sign-in is refused. A user name is limited
 * per address it is tried from, so someone guessing from their own address cannot lock
 * the owner (the admin, say) out from theirs; the much higher ceiling over all addresses
 * stops a guesser who has many, except at an address the user signed in from within
 * `knownAddressSeconds`: a guesser with many addresses cannot lock the owner out either.
 */
export const LOGIN_LIMITS = {
  windowSeconds: 15 * 60,
  perUsernameAndAddress: 5,
  perUsername: 100,
  perAddress: 20,
  knownAddressSeconds: 30 * 24 * 60 * 60,
} as const;

export interface LoginAttempt {
  /** Client address as the server saw it. */
  address: string;
  username: string;
  now?: Date;
}

export type LoginDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number; message: string };

/**
 * IPv6 clients usually own a whole /64, so they are counted per /64; an IPv4 address
 * mapped into IPv6 counts as the IPv4 address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return `address:${mapped[1]}`;
  if (!net.isIPv6(address)) return `address:${address}`;
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return `address:${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * User names are compared without regard to case, so their counters are too. Hashed
 * because people type passwords into the user name field.
 */
function usernameDigest(username: string): string {
  return crypto.createHash('sha256').update(username.toLowerCase()).digest('hex');
}

function usernameKey(username: string): string {
  return `username:${usernameDigest(username)}`;
}

function usernameAndAddressKey(username: string, address: string): string {
  return `username-at:${usernameDigest(username)}@${addressKey(address)}`;
}

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Seconds until fewer than `limit` failures remain in the window, or 0 if there already are. */
function secondsUntilBelowLimit(db: ConsoleStore, key: string, limit: number, now: number): number {
  const windowStart = now - LOGIN_LIMITS.windowSeconds;
  const times = db.prepare('SELECT at FROM login_attempts WHERE key = ? AND at > ? ORDER BY at').all(key, windowStart) as Array<{ at: number }>;
  if (times.length < limit) return 0;
  // Once this failure leaves the window, limit - 1 remain.
  const unblockingFailure = times[times.length - limit]!.at;
  return Math.max(1, unblockingFailure + LOGIN_LIMITS.windowSeconds - now);
}

function inMinutes(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** Whether the user name signed in from this address within LOGIN_LIMITS.knownAddressSeconds. */
function isKnownAddress(db: ConsoleStore, attempt: LoginAttempt, now: number): boolean {
  const row = db.prepare('SELECT last_at FROM sign_in_addresses WHERE key = ?').get(usernameAndAddressKey(attempt.username, attempt.address)) as { last_at: number } | undefined;
  return row !== undefined && row.last_at > now - LOGIN_LIMITS.knownAddressSeconds;
}

/** Asked before checking a password, so a blocked guesser learns nothing about it. */
export function checkLoginAllowed(db: ConsoleStore, attempt: LoginAttempt): LoginDecision {
  const now = unixSeconds(attempt.now ?? new Date());
  const waits = [
    { seconds: secondsUntilBelowLimit(db, usernameAndAddressKey(attempt.username, attempt.address), LOGIN_LIMITS.perUsernameAndAddress, now), why: 'for this user name from your network address' },
    { seconds: secondsUntilBelowLimit(db, addressKey(attempt.address), LOGIN_LIMITS.perAddress, now), why: 'from your network address' },
    {
      seconds: isKnownAddress(db, attempt, now) ? 0 : secondsUntilBelowLimit(db, usernameKey(attempt.username), LOGIN_LIMITS.perUsername, now),
      why: 'for this user name from many addresses',
    },
  ];
  const longest = waits.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  if (longest.seconds === 0) return { allowed: true };
  return { allowed: false, retryAfterSeconds: longest.seconds, message: `Too many sign-in attempts ${longest.why}; try again in ${inMinutes(longest.seconds)}.` };
}

/** Counts a failed sign-in against the user name at the address, the user name, and the address, and forgets failures older than the window. */
export function recordLoginFailure(db: ConsoleStore, attempt: LoginAttempt): void {
  const now = unixSeconds(attempt.now ?? new Date());
  db.transaction(() => {
    const insert = db.prepare('INSERT INTO login_attempts (key, at) VALUES (?, ?)');
    insert.run(usernameAndAddressKey(attempt.username, attempt.address), now);
    insert.run(usernameKey(attempt.username), now);
    insert.run(addressKey(attempt.address), now);
    db.prepare('DELETE FROM login_attempts WHERE at <= ?').run(now - LOGIN_LIMITS.windowSeconds);
  })();
}

/**
 * After a successful sign-in from an address: that user name's failures there are
 * forgotten, and the address is remembered as the user's. The address counter is kept
 * (otherwise one valid account would let its owner reset it and go on guessing other
 * names), and so is the ceiling over all addresses (otherwise the owner signing in would
 * reset a guesser spread over many).
 */
export function recordLoginSuccess(db: ConsoleStore, username: string, address: string, now = new Date()): void {
  const key = usernameAndAddressKey(username, address);
  db.transaction(() => {
    db.prepare('DELETE FROM login_attempts WHERE key = ?').run(key);
    db.prepare('INSERT INTO sign_in_addresses (key, last_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET last_at = excluded.last_at').run(key, unixSeconds(now));
  })();
}
