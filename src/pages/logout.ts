import type { APIRoute } from 'astro';
import { getLucia } from '../lib/server/auth/lucia.ts';
import { signOut } from '../lib/server/auth/sign-in.ts';

/** The "Sign out" button posts here: the session ends and the browser goes to the sign-in page. */
export const POST: APIRoute = async ({ cookies, locals, redirect }) => {
  const cookie = await signOut(getLucia(), locals.session?.id ?? null);
  cookies.set(cookie.name, cookie.value, cookie.attributes);
  return redirect('/login', 303);
};
