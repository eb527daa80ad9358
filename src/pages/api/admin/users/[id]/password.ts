import type { APIRoute } from 'astro';
import { resetUserPassword } from '../../../../../lib/server/auth/user-admin.ts';
import { jsonOk, readJsonObject } from '../../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Sets a new password from `{ password }` and signs the user out everywhere. */
export const POST: APIRoute = async ({ params, request, locals }) => {
  const body = await readJsonObject(request);
  const user = await resetUserPassword(getRuntime().store, locals.user!.username, { id: params.id! }, body.password);
  return jsonOk({ user });
};
