import type { ConsoleStore } from '../store/database.ts';
import { recordAudit } from '../store/audit.ts';
import { PasswordPolicyError } from './password.ts';
import {
  insertUser,
  findUserByUsername,
  getUser,
  parseRole,
  resetPassword,
  setDisabled,
  setRole,
  UserInputError,
  UserNotFoundError,
  type ConsoleUser,
} from './users.ts';

/**
 * User management as admins (and the command line) do it: every change, and every attempt
 * that failed, is written to the audit log with who asked, what, to whom and how it went.
 * Inputs are taken as they arrived (a JSON body, a form) and checked here, so a malformed
 * request is refused and audited like any other failure. Passwords never reach the log.
 */

/** The user name of the admin acting, or `cli` for the command line. */
export type Actor = string;

/** Pages and the API name users by id; the command line by user name. */
export type UserSelector = { id: string } | { username: string };

type AuditDetail = Record<string, unknown> | null;

function describeSelector(selector: UserSelector): string {
  return 'id' in selector ? selector.id : selector.username;
}

function lookUp(db: ConsoleStore, selector: UserSelector): ConsoleUser | null {
  return 'id' in selector ? getUser(db, selector.id) : findUserByUsername(db, selector.username);
}

function requireText(value: unknown, field: 'username' | 'role', what: string): string {
  if (typeof value !== 'string') throw new UserInputError(field, `Give the ${what} as text.`);
  return value;
}

function requirePassword(value: unknown): string {
  if (typeof value !== 'string') throw new PasswordPolicyError('Give the password as text.');
  return value;
}

function optionalTenants(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new UserInputError('tenants', 'Give the tenants as a list of tenant ids, like ["acme", "globex"].');
  }
  return value;
}

/** The parts of a request worth keeping when it fails, as long as they are what they should be. */
function requestedChange(input: { role?: unknown; tenants?: unknown }): Record<string, unknown> {
  const requested: Record<string, unknown> = {};
  if (typeof input.role === 'string') requested.role = input.role;
  if (Array.isArray(input.tenants) && input.tenants.every((item) => typeof item === 'string')) requested.tenants = input.tenants;
  return requested;
}

interface AuditedChange {
  actor: Actor;
  action: string;
  /** Who the change is about, as best known before it runs. */
  target: string | null;
  /** Kept with a failure, beside the error message. */
  requested?: Record<string, unknown>;
}

/** Runs a change and audits its outcome; a failure is recorded, then thrown on unchanged. */
async function audited(db: ConsoleStore, change: AuditedChange, run: () => Promise<{ user: ConsoleUser; detail: AuditDetail }>): Promise<ConsoleUser> {
  let result: { user: ConsoleUser; detail: AuditDetail };
  try {
    result = await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    recordAudit(db, { actor: change.actor, action: change.action, target: change.target, outcome: 'error', detail: { ...change.requested, error: message } });
    throw error;
  }
  recordAudit(db, { actor: change.actor, action: change.action, target: result.user.username, outcome: 'ok', detail: result.detail });
  return result.user;
}

/** Runs a change to an existing user, audited under that user's name when they exist. */
function auditedUserChange(
  db: ConsoleStore,
  actor: Actor,
  action: string,
  selector: UserSelector,
  requested: Record<string, unknown>,
  run: (user: ConsoleUser) => Promise<{ user: ConsoleUser; detail: AuditDetail }>,
): Promise<ConsoleUser> {
  const existing = lookUp(db, selector);
  return audited(db, { actor, action, target: existing?.username ?? describeSelector(selector), requested }, async () => {
    if (!existing) throw new UserNotFoundError(describeSelector(selector));
    return run(existing);
  });
}

export interface UserCreation {
  username: unknown;
  password: unknown;
  role: unknown;
  /** Tenant ids, for the tenant role only. */
  tenants?: unknown;
}

/** Creates a user; audited as `user.create` with role and tenants. */
export function addUser(db: ConsoleStore, actor: Actor, input: UserCreation): Promise<ConsoleUser> {
  const target = typeof input.username === 'string' ? input.username : null;
  return audited(db, { actor, action: 'user.create', target, requested: requestedChange(input) }, async () => {
    const user = await insertUser(db, {
      username: requireText(input.username, 'username', 'user name'),
      password: requirePassword(input.password),
      role: parseRole(requireText(input.role, 'role', 'role')),
      tenants: optionalTenants(input.tenants),
    });
    return { user, detail: { role: user.role, tenants: user.tenants } };
  });
}

/** Disables a user and ends their sessions; audited as `user.disable`. */
export function disableUser(db: ConsoleStore, actor: Actor, selector: UserSelector): Promise<ConsoleUser> {
  return auditedUserChange(db, actor, 'user.disable', selector, {}, async (user) => ({
    user: setDisabled(db, user.id, true),
    detail: { sessionsEnded: true },
  }));
}

/** Lets a disabled user sign in again; audited as `user.enable`. */
export function enableUser(db: ConsoleStore, actor: Actor, selector: UserSelector): Promise<ConsoleUser> {
  return auditedUserChange(db, actor, 'user.enable', selector, {}, async (user) => ({ user: setDisabled(db, user.id, false), detail: null }));
}

export interface RoleChange {
  role: unknown;
  /** For the tenant role; left out, a tenant user keeps their current tenants. */
  tenants?: unknown;
}

/** Changes role and tenants; audited as `user.role` with the role and tenants before and after. */
export function changeUserRole(db: ConsoleStore, actor: Actor, selector: UserSelector, change: RoleChange): Promise<ConsoleUser> {
  return auditedUserChange(db, actor, 'user.role', selector, requestedChange(change), async (user) => {
    const updated = setRole(db, user.id, parseRole(requireText(change.role, 'role', 'role')), optionalTenants(change.tenants));
    return {
      user: updated,
      detail: { from: { role: user.role, tenants: user.tenants }, to: { role: updated.role, tenants: updated.tenants } },
    };
  });
}

/** Sets a new password and signs the user out everywhere; audited as `user.password`, without the password. */
export function resetUserPassword(db: ConsoleStore, actor: Actor, selector: UserSelector, password: unknown): Promise<ConsoleUser> {
  return auditedUserChange(db, actor, 'user.password', selector, {}, async (user) => ({
    user: await resetPassword(db, user.id, requirePassword(password)),
    detail: { sessionsEnded: true },
  }));
}

/** Tenant ids as typed into one text field: separated by commas, spaces or new lines. */
export function parseTenantList(text: string): string[] {
  return text.split(/[\s,]+/).filter((id) => id !== '');
}
