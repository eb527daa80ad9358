import type { APIRoute } from 'astro';
import { jsonOk, readJsonObject } from '../../../../../../../lib/server/web/http.ts';
import { assertRestoreConfirmed, restoreSnapshot } from '../../../../../../../lib/server/services/snapshots.ts';
import { getRuntime } from '../../../../../../../lib/server/services/runtime.ts';
import { regenerationFailureMessage } from '../../../../../../../lib/server/services/operations.ts';

/**
 * Restores the context's databases from the snapshot (admins; routes.ts), confirmed by
 * `{"confirm": "<context>"}`. 409 `snapshot_busy` while a writer holds a database.
 */
export const POST: APIRoute = async ({ locals, params, request }) => {
  const { context } = locals.composite!;
  assertRestoreConfirmed(context.name, (await readJsonObject(request)).confirm);
  const result = await restoreSnapshot(getRuntime().snapshotScopeFor(locals.user!.username), params.id!, context.name);
  const { regeneration, ...restored } = result;
  return jsonOk({ ...restored, regenerated: regeneration.ok, regenerationProblem: regeneration.ok ? null : regenerationFailureMessage(regeneration) });
};
