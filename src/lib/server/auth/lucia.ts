import { Lucia, TimeSpan } from 'lucia';
import { getSettings } from '../core/config.ts';
import { getConsoleStore, type ConsoleStore } from '../store/database.ts';
import { SqliteSessionAdapter, type SessionUserAttributes } from './session-adapter.ts';

export const SESSION_COOKIE_NAME = 'yard_session';

/**
 * Sliding expiry: Lucia extends a session used in the second half of its lifetime,
 * so someone who uses the console daily stays signed in and an idle session ends in a day.
 */
export const SESSION_LIFETIME = new TimeSpan(1, 'd');

export interface LuciaOptions {
  /**
   * The console's address as browsers see it (TRUTH_YARD_PUBLIC_ORIGIN, the default): when
   * it is https the cookie is Secure, sent over HTTPS only. The server itself speaks plain
   * HTTP (TLS ends at a proxy), so it cannot tell from a request.
   */
  publicOrigin?: string | null;
}

export function createLucia(db: ConsoleStore, options: LuciaOptions = {}) {
  return new Lucia(new SqliteSessionAdapter(db), {
    sessionExpiresIn: SESSION_LIFETIME,
    sessionCookie: {
      name: SESSION_COOKIE_NAME,
      attributes: {
        secure: (options.publicOrigin === undefined ? getSettings().publicOrigin : options.publicOrigin)?.startsWith('https:') ?? false,
        sameSite: 'lax',
      },
    },
    getUserAttributes: (attributes) => ({
      username: attributes.username,
      role: attributes.role,
      tenants: attributes.tenants,
      disabled: attributes.disabled,
    }),
  });
}

export type ConsoleLucia = ReturnType<typeof createLucia>;

declare module 'lucia' {
  interface Register {
    Lucia: ConsoleLucia;
    DatabaseUserAttributes: SessionUserAttributes;
  }
}

let processLucia: { db: ConsoleStore; lucia: ConsoleLucia } | undefined;

/** The Lucia instance over this process's console database, rebuilt if that database was reopened. */
export function getLucia(): ConsoleLucia {
  const db = getConsoleStore();
  if (processLucia?.db !== db) processLucia = { db, lucia: createLucia(db) };
  return processLucia.lucia;
}
