import type { APIRoute } from 'astro';
import { listUsers } from '../../../../lib/server/auth/users.ts';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';

/** Every user with role, tenants and whether they are disabled; never a password hash. */
export const GET: APIRoute = () => jsonOk({ users: listUsers(getRuntime().store) });
