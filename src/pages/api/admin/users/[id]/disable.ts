import type { APIRoute } from 'astro';
import { disableUser } from '../../../../../lib/server/auth/user-admin.ts';
import { jsonOk } from '../../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Disables the user and ends their sessions; 400 for the only active admin, 404 for an unknown id. */
export const POST: APIRoute = async ({ params, locals }) => {
  const user = await disableUser(getRuntime().store, locals.user!.username, { id: params.id! });
  return jsonOk({ user });
};
