import type { APIRoute } from 'astro';
import { getLucia } from '../../lib/server/auth/lucia.ts';
import { signIn } from '../../lib/server/auth/sign-in.ts';
import { jsonError, jsonOk, readJsonObject } from '../../lib/server/web/http.ts';
import { RequestError } from '../../lib/server/core/errors.ts';
import { getRuntime } from '../../lib/server/services/runtime.ts';

/**
 * Signs in with `{ "username", "password" }` and sets the session cookie. A body that is
 * not that is a problem the middleware answers in the envelope, as for every API route.
 */
export const POST: APIRoute = async ({ request, cookies, clientAddress, locals }) => {
  const { username, password } = await readJsonObject(request);
  if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') {
    throw new RequestError('invalid_input', 'Send {"username": "…", "password": "…"}, both non-empty text.');
  }
  const lucia = getLucia();
  const result = await signIn(getRuntime().store, lucia, { username, password, address: clientAddress });
  if (!result.ok) {
    if (result.reason === 'rate_limited') return jsonError(429, 'rate_limited', result.message, { 'Retry-After': String(result.retryAfterSeconds) });
    if (result.reason === 'disabled') return jsonError(403, 'account_disabled', result.message);
    return jsonError(401, 'invalid_credentials', result.message);
  }
  // A new session on every sign-in; one this browser already had is ended.
  if (locals.session) await lucia.invalidateSession(locals.session.id);
  cookies.set(result.cookie.name, result.cookie.value, result.cookie.attributes);
  const { id, username: name, role, tenants } = result.user;
  return jsonOk({ user: { id, username: name, role, tenants } });
};
