import { generateIdFromEntropySize } from 'lucia';
import type { ConsoleStore } from '../store/database.ts';
import { TENANT_ID_PATTERN } from '../volume/contexts.ts';
import { ROLES, type Role, type SessionUser } from './access.ts';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './password.ts';
import { keptStatement } from '../sqlite/statements.ts';
import { ProblemError } from '../core/errors.ts';

export interface ConsoleUser extends SessionUser {
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export type UserField = 'username' | 'role' | 'tenants' | 'disabled';

/** A user change that cannot be made as asked; `field` says which input to fix. */
export class UserInputError extends ProblemError {
  constructor(
    readonly field: UserField,
    message: string,
  ) {
    super('invalid_input', message, 400);
  }
}

export class UserNotFoundError extends ProblemError {
  constructor(readonly user: string) {
    super('user_not_found', `No user "${user}"; list users to see who exists.`, 404);
  }
}

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$/;
/** Names the audit log uses for actions nobody signed in took. */
const RESERVED_USERNAMES = new Set(['cli', 'system']);

/** Returns the username unchanged, or throws UserInputError saying what a valid one looks like. */
export function validateUsername(username: string): string {
  if (!USERNAME_PATTERN.test(username)) {
    throw new UserInputError(
      'username',
      `"${username}" is not a valid user name: use 3 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.`,
    );
  }
  if (RESERVED_USERNAMES.has(username.toLowerCase())) {
    throw new UserInputError('username', `"${username}" is reserved for the audit log; choose another user name.`);
  }
  return username;
}

export function parseRole(value: string): Role {
  const role = ROLES.find((candidate) => candidate === value);
  if (!role) throw new UserInputError('role', `"${value}" is not a role: use ${ROLES.join(', ')}.`);
  return role;
}

/**
 * Tenants sorted and without repeats. Only tenant users carry a list (the other roles
 * read everything they may read regardless), and a tenant user with none could see nothing.
 */
export function validateTenants(role: Role, tenants: readonly string[]): string[] {
  if (role !== 'tenant') {
    if (tenants.length > 0) {
      throw new UserInputError('tenants', `Only tenant users have a tenant list; a ${role} reads every tenant. Leave the tenants empty.`);
    }
    return [];
  }
  const invalid = tenants.filter((id) => !TENANT_ID_PATTERN.test(id));
  if (invalid.length > 0) {
    throw new UserInputError(
      'tenants',
      `${invalid.map((id) => `"${id}"`).join(', ')} ${invalid.length === 1 ? 'is not a tenant id' : 'are not tenant ids'}: use 1 to 64 letters, digits, "_" or "-", starting with a letter or digit.`,
    );
  }
  if (tenants.length === 0) {
    throw new UserInputError('tenants', 'A tenant user needs at least one tenant to read; name the tenant ids.');
  }
  return [...new Set(tenants)].sort();
}

interface UserRow {
  id: string;
  username: string;
  role: Role;
  disabled: number;
  created_at: string;
  updated_at: string;
  tenants: string;
}

const SELECT_USERS = `
  SELECT u.id, u.username, u.role, u.disabled, u.created_at, u.updated_at,
    (SELECT json_group_array(t.tenant_id) FROM user_tenants t WHERE t.user_id = u.id) AS tenants
  FROM users u`;

function toUser(row: UserRow): ConsoleUser {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    tenants: (JSON.parse(row.tenants) as string[]).sort(),
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function getUser(db: ConsoleStore, id: string): ConsoleUser | null {
  const row = keptStatement(db, `${SELECT_USERS} WHERE u.id = ?`).get(id) as UserRow | undefined;
  return row ? toUser(row) : null;
}

/** User names are matched without regard to case. */
export function findUserByUsername(db: ConsoleStore, username: string): ConsoleUser | null {
  const row = db.prepare(`${SELECT_USERS} WHERE u.username = ?`).get(username) as UserRow | undefined;
  return row ? toUser(row) : null;
}

export function listUsers(db: ConsoleStore): ConsoleUser[] {
  return (db.prepare(`${SELECT_USERS} ORDER BY u.username`).all() as UserRow[]).map(toUser);
}

function requireUser(db: ConsoleStore, id: string): ConsoleUser {
  const user = getUser(db, id);
  if (!user) throw new UserNotFoundError(id);
  return user;
}

function now(): string {
  return new Date().toISOString();
}

function writeTenants(db: ConsoleStore, userId: string, tenants: readonly string[]): void {
  db.prepare('DELETE FROM user_tenants WHERE user_id = ?').run(userId);
  const insert = db.prepare('INSERT INTO user_tenants (user_id, tenant_id) VALUES (?, ?)');
  for (const tenant of tenants) insert.run(userId, tenant);
}

function touch(db: ConsoleStore, userId: string): void {
  db.prepare('UPDATE users SET updated_at = ? WHERE id = ?').run(now(), userId);
}

/** Signs the user out everywhere. */
export function endUserSessions(db: ConsoleStore, userId: string): void {
  db.prepare('DELETE FROM sessions WHERE user_id = ?').run(userId);
}

/** Refuses a change that would leave nobody able to manage users. */
function keepAnActiveAdmin(db: ConsoleStore, user: ConsoleUser, field: UserField, change: string): void {
  if (user.role !== 'admin' || user.disabled) return;
  const others = db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?").get(user.id) as { n: number };
  if (others.n === 0) {
    throw new UserInputError(field, `${user.username} is the only active admin and cannot ${change}; make another user admin first.`);
  }
}

function usernameTaken(username: string): UserInputError {
  return new UserInputError('username', `The user name "${username}" is taken (names are compared without regard to case); choose another.`);
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  /** Required, non-empty, for the tenant role; must be empty for the others. */
  tenants?: readonly string[];
}

/**
 * Stores a new user after checking the input. Records nothing in the audit log: an admin
 * or the command line creates users through user-admin.ts addUser, which does.
 */
export async function insertUser(db: ConsoleStore, input: NewUser): Promise<ConsoleUser> {
  const username = validateUsername(input.username);
  const role = parseRole(input.role);
  const tenants = validateTenants(role, input.tenants ?? []);
  checkPasswordPolicy(input.password);
  if (findUserByUsername(db, username)) throw usernameTaken(username);
  const passwordHash = await hashPassword(input.password);
  const id = generateIdFromEntropySize(10);
  const createdAt = now();
  try {
    db.transaction(() => {
      db.prepare('INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)').run(
        id,
        username,
        passwordHash,
        role,
        createdAt,
        createdAt,
      );
      writeTenants(db, id, tenants);
    })();
  } catch (error) {
    // Another request may have taken the name while the password was hashing.
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw usernameTaken(username);
    throw error;
  }
  return requireUser(db, id);
}

/**
 * Changes the role. Moving to the tenant role takes `tenants` (or keeps the user's
 * current list); moving away from it drops the list.
 */
export function setRole(db: ConsoleStore, userId: string, role: Role, tenants?: readonly string[]): ConsoleUser {
  const checkedRole = parseRole(role);
  db.transaction(() => {
    const user = requireUser(db, userId);
    if (checkedRole !== 'admin') keepAnActiveAdmin(db, user, 'role', 'stop being an admin');
    const newTenants = validateTenants(checkedRole, tenants ?? (checkedRole === 'tenant' ? user.tenants : []));
    db.prepare('UPDATE users SET role = ? WHERE id = ?').run(checkedRole, userId);
    writeTenants(db, userId, newTenants);
    touch(db, userId);
  }).immediate();
  return requireUser(db, userId);
}

export function setTenants(db: ConsoleStore, userId: string, tenants: readonly string[]): ConsoleUser {
  db.transaction(() => {
    const user = requireUser(db, userId);
    writeTenants(db, userId, validateTenants(user.role, tenants));
    touch(db, userId);
  }).immediate();
  return requireUser(db, userId);
}

/** Disabling a user also ends every session they have. */
export function setDisabled(db: ConsoleStore, userId: string, disabled: boolean): ConsoleUser {
  db.transaction(() => {
    const user = requireUser(db, userId);
    if (disabled) {
      keepAnActiveAdmin(db, user, 'disabled', 'be disabled');
      endUserSessions(db, userId);
    }
    db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, userId);
    touch(db, userId);
  }).immediate();
  return requireUser(db, userId);
}

/** Sets a new password and ends the user's sessions, so whoever knew the old one is signed out. */
export async function resetPassword(db: ConsoleStore, userId: string, password: string): Promise<ConsoleUser> {
  requireUser(db, userId);
  const passwordHash = await hashPassword(password);
  db.transaction(() => {
    requireUser(db, userId);
    db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(passwordHash, userId);
    endUserSessions(db, userId);
    touch(db, userId);
  }).immediate();
  return requireUser(db, userId);
}

export type CredentialCheck = { ok: true; user: ConsoleUser } | { ok: false; reason: 'invalid' | 'disabled' };

let unknownUserHash: Promise<string> | undefined;

/**
 * Checks a sign-in. An unknown user name costs the same hashing work as a wrong password,
 * so response times do not reveal which names exist; `disabled` is only reported to
 * someone who knew the password.
 */
export async function verifyCredentials(db: ConsoleStore, username: string, password: string): Promise<CredentialCheck> {
  const row = db.prepare('SELECT id, password_hash FROM users WHERE username = ?').get(username) as { id: string; password_hash: string } | undefined;
  if (!row) {
    unknownUserHash ??= hashPassword('placeholder password never assigned to anyone');
    await verifyPassword(await unknownUserHash, password);
    return { ok: false, reason: 'invalid' };
  }
  if (!(await verifyPassword(row.password_hash, password))) return { ok: false, reason: 'invalid' };
  const user = requireUser(db, row.id);
  return user.disabled ? { ok: false, reason: 'disabled' } : { ok: true, user };
}
