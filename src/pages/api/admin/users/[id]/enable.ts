import type { APIRoute } from 'astro';
import { enableUser } from '../../../../../lib/server/auth/user-admin.ts';
import { jsonOk } from '../../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Lets a disabled user sign in again; 404 for an unknown id. */
export const POST: APIRoute = async ({ params, locals }) => {
  const user = await enableUser(getRuntime().store, locals.user!.username, { id: params.id! });
  return jsonOk({ user });
};
