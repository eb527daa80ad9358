import crypto from 'node:crypto';
import type { Adapter, DatabaseSession, DatabaseUser } from 'lucia';
import type { ConsoleStore } from '../store/database.ts';
import type { Role } from './access.ts';
import { endUserSessions, getUser } from './users.ts';
import { keptStatement } from '../sqlite/statements.ts';

/** What a validated session carries about its user (Lucia's DatabaseUserAttributes). */
export interface SessionUserAttributes {
  username: string;
  role: Role;
  tenants: string[];
  disabled: boolean;
}

/** The only form in which a session id is stored or looked up. */
export function sessionDigest(sessionId: string): string {
  return crypto.createHash('sha256').update(sessionId).digest('hex');
}

function toUnixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * Lucia's storage over the console database. The session token is hashed on every call
 * and never written, so a copy of the database cannot be turned into a signed-in cookie,
 * and a stored digest presented as a token is hashed again and matches nothing.
 *
 * Sessions returned by getUserSessions are identified by their digest (the token is not
 * known there): they can be counted and shown, and ended all at once through
 * deleteUserSessions, but not one by one.
 */
export class SqliteSessionAdapter implements Adapter {
  constructor(private readonly db: ConsoleStore) {}

  async getSessionAndUser(sessionId: string): Promise<[session: DatabaseSession | null, user: DatabaseUser | null]> {
    const row = keptStatement(this.db, 'SELECT user_id, expires_at FROM sessions WHERE id = ?').get(sessionDigest(sessionId)) as
      | { user_id: string; expires_at: number }
      | undefined;
    if (!row) return [null, null];
    const session: DatabaseSession = { id: sessionId, userId: row.user_id, expiresAt: new Date(row.expires_at * 1000), attributes: {} };
    const user = getUser(this.db, row.user_id);
    // Returning the session without a user makes Lucia delete it: a disabled user is signed out.
    if (!user || user.disabled) return [session, null];
    const attributes: SessionUserAttributes = { username: user.username, role: user.role, tenants: user.tenants, disabled: user.disabled };
    return [session, { id: user.id, attributes }];
  }

  async getUserSessions(userId: string): Promise<DatabaseSession[]> {
    const rows = this.db.prepare('SELECT id, expires_at FROM sessions WHERE user_id = ? ORDER BY expires_at').all(userId) as Array<{
      id: string;
      expires_at: number;
    }>;
    return rows.map((row) => ({ id: row.id, userId, expiresAt: new Date(row.expires_at * 1000), attributes: {} }));
  }

  async setSession(session: DatabaseSession): Promise<void> {
    this.db
      .prepare('INSERT INTO sessions (id, user_id, expires_at) VALUES (?, ?, ?)')
      .run(sessionDigest(session.id), session.userId, toUnixSeconds(session.expiresAt));
  }

  async updateSessionExpiration(sessionId: string, expiresAt: Date): Promise<void> {
    this.db.prepare('UPDATE sessions SET expires_at = ? WHERE id = ?').run(toUnixSeconds(expiresAt), sessionDigest(sessionId));
  }

  async deleteSession(sessionId: string): Promise<void> {
    this.db.prepare('DELETE FROM sessions WHERE id = ?').run(sessionDigest(sessionId));
  }

  async deleteUserSessions(userId: string): Promise<void> {
    endUserSessions(this.db, userId);
  }

  async deleteExpiredSessions(): Promise<void> {
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(toUnixSeconds(new Date()));
  }
}
