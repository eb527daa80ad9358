import type { APIRoute } from 'astro';
import { getLucia } from '../../lib/server/auth/lucia.ts';
import { signOut } from '../../lib/server/auth/sign-in.ts';
import { jsonOk } from '../../lib/server/web/http.ts';

/** Ends this browser's session; answers the same whether or not there was one. */
export const POST: APIRoute = async ({ cookies, locals }) => {
  const cookie = await signOut(getLucia(), locals.session?.id ?? null);
  cookies.set(cookie.name, cookie.value, cookie.attributes);
  return jsonOk({});
};
