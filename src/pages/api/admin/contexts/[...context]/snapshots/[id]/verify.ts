import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../../../../lib/server/web/http.ts';
import { runSnapshotAction } from '../../../../../../../lib/server/services/snapshot-actions.ts';
import { getRuntime } from '../../../../../../../lib/server/services/runtime.ts';

/** Re-checks the snapshot's digests and integrity (admins; routes.ts). */
export const POST: APIRoute = async ({ locals, params }) => jsonOk(await runSnapshotAction(getRuntime(), locals.user!.username, locals.composite!.context.name, 'verify', params.id!));
