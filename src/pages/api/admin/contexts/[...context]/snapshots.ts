import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../../lib/server/web/http.ts';
import { listSnapshots } from '../../../../../lib/server/services/snapshots.ts';
import { runSnapshotAction } from '../../../../../lib/server/services/snapshot-actions.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** The context's snapshots, newest first (admins; routes.ts). */
export const GET: APIRoute = ({ locals }) => {
  const { context } = locals.composite!;
  return jsonOk({ snapshots: listSnapshots(getRuntime().snapshotScopeFor(locals.user!.username), context.name) });
};

/** Takes a snapshot of every database of the context, then applies retention. */
export const POST: APIRoute = async ({ locals }) => jsonOk(await runSnapshotAction(getRuntime(), locals.user!.username, locals.composite!.context.name, 'create'));
