import type { Cookie } from 'lucia';
import type { ConsoleStore } from '../store/database.ts';
import { recordAudit } from '../store/audit.ts';
import type { ConsoleLucia } from './lucia.ts';
import { checkLoginAllowed, recordLoginSuccess, recordLoginFailure } from './rate-limit.ts';
import { verifyCredentials, type ConsoleUser } from './users.ts';

/** The one answer to a wrong user name or a wrong password, so neither can be told apart. */
export const INVALID_CREDENTIALS_MESSAGE = 'Wrong user name or password.';
/** Only shown to someone who gave the right password. */
export const DISABLED_ACCOUNT_MESSAGE = 'This account is disabled; ask an admin to enable it.';

export interface SignInAttempt {
  username: string;
  password: string;
  /** The client address as the server saw it; failures are counted against it. */
  address: string;
}

export type SignInResult =
  | { ok: true; user: ConsoleUser; cookie: Cookie }
  | { ok: false; reason: 'invalid' | 'disabled'; message: string }
  | { ok: false; reason: 'rate_limited'; message: string; retryAfterSeconds: number };

/**
 * Signs someone in, for the sign-in page and the API alike. The rate limit is asked
 * before the password is checked, so a blocked guesser learns nothing about it; only
 * wrong credentials count as failures.
 */
export async function signIn(db: ConsoleStore, lucia: ConsoleLucia, attempt: SignInAttempt): Promise<SignInResult> {
  const decision = checkLoginAllowed(db, attempt);
  if (!decision.allowed) return { ok: false, reason: 'rate_limited', message: decision.message, retryAfterSeconds: decision.retryAfterSeconds };
  const check = await verifyCredentials(db, attempt.username, attempt.password);
  if (!check.ok) {
    if (check.reason === 'invalid') {
      recordLoginFailure(db, attempt);
      return { ok: false, reason: 'invalid', message: INVALID_CREDENTIALS_MESSAGE };
    }
    // The password was right, so the name is a real user's and may be logged.
    recordAudit(db, { actor: attempt.username, action: 'user.sign-in', target: attempt.username, outcome: 'denied', detail: { reason: 'disabled', address: attempt.address } });
    return { ok: false, reason: 'disabled', message: DISABLED_ACCOUNT_MESSAGE };
  }
  recordLoginSuccess(db, attempt.username, attempt.address);
  const session = await lucia.createSession(check.user.id, {});
  recordAudit(db, { actor: check.user.username, action: 'user.sign-in', target: check.user.username, outcome: 'ok', detail: { address: attempt.address } });
  return { ok: true, user: check.user, cookie: lucia.createSessionCookie(session.id) };
}

/** Ends the session (if any) and returns the cookie that clears it in the browser. */
export async function signOut(lucia: ConsoleLucia, sessionId: string | null): Promise<Cookie> {
  if (sessionId) await lucia.invalidateSession(sessionId);
  return lucia.createBlankSessionCookie();
}
