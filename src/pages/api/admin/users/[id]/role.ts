import type { APIRoute } from 'astro';
import { changeUserRole } from '../../../../../lib/server/auth/user-admin.ts';
import { jsonOk, readJsonObject } from '../../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/**
 * Changes role and tenants from `{ role, tenants? }`. Tenants go with the tenant role only;
 * left out, a tenant user keeps theirs.
 */
export const POST: APIRoute = async ({ params, request, locals }) => {
  const body = await readJsonObject(request);
  const user = await changeUserRole(getRuntime().store, locals.user!.username, { id: params.id! }, { role: body.role, tenants: body.tenants });
  return jsonOk({ user });
};
