import type { APIRoute } from 'astro';
import { canSeeContext } from '../../lib/server/auth/access.ts';
import { jsonOk } from '../../lib/server/web/http.ts';
import { getRuntime } from '../../lib/server/services/runtime.ts';
import { scanVolume } from '../../lib/server/volume/contexts.ts';

/** Who is signed in, and the contexts of the volume they can see. */
export const GET: APIRoute = ({ locals }) => {
  const { username, role, tenants } = locals.user!;
  const contexts = scanVolume(getRuntime().settings.volumeDir)
    .contexts.filter((context) => canSeeContext(locals.user!, context.name))
    .map((context) => context.name);
  return jsonOk({ user: { username, role, tenants }, contexts });
};
