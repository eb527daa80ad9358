import type { APIRoute } from 'astro';
import { jsonOk, readJsonObject } from '../../../../../../../lib/server/web/http.ts';
import { runSnapshotAction } from '../../../../../../../lib/server/services/snapshot-actions.ts';
import { getRuntime } from '../../../../../../../lib/server/services/runtime.ts';

/**
 * Restores the context's databases from the snapshot (admins; routes.ts), confirmed by
 * `{"confirm": "<context>"}`. 409 `snapshot_busy` while a writer holds a database.
 */
export const POST: APIRoute = async ({ locals, params, request }) => {
  const { confirm } = await readJsonObject(request);
  return jsonOk(await runSnapshotAction(getRuntime(), locals.user!.username, locals.composite!.context.name, 'restore', params.id!, confirm));
};
