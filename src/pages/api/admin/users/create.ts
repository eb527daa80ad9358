import type { APIRoute } from 'astro';
import { addUser } from '../../../../lib/server/auth/user-admin.ts';
import { jsonOk, readJsonObject } from '../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';

/** Creates a user from `{ username, password, role, tenants? }`: 201 with the user, 400 saying which field to fix. */
export const POST: APIRoute = async ({ request, locals }) => {
  const body = await readJsonObject(request);
  const user = await addUser(getRuntime().store, locals.user!.username, {
    username: body.username,
    password: body.password,
    role: body.role,
    tenants: body.tenants,
  });
  return jsonOk({ user }, 201);
};
