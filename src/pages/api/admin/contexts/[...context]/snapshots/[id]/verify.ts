import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../../../../lib/server/web/http.ts';
import { verifySnapshot } from '../../../../../../../lib/server/services/snapshots.ts';
import { getRuntime } from '../../../../../../../lib/server/services/runtime.ts';

/** Re-checks the snapshot's digests and integrity (admins; routes.ts). */
export const POST: APIRoute = async ({ locals, params }) => {
  const { context } = locals.composite!;
  return jsonOk({ verification: await verifySnapshot(getRuntime().snapshotScopeFor(locals.user!.username), params.id!, context.name) });
};
