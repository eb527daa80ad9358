import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';
import { deleteOwnView, openableView, savedViewJson } from '../../../../lib/server/services/saved-views.ts';

/** One saved view, when the user may open it on this context; 404 otherwise. */
export const GET: APIRoute = ({ locals, params }) => {
  return jsonOk({ view: savedViewJson(locals, openableView(getRuntime(), locals, params.ctx, params.id)) });
};

/** Deletes one of the user's own views of this context; audited. Another's, or none: 404. */
export const DELETE: APIRoute = ({ locals, params }) => {
  deleteOwnView(getRuntime(), locals, params.ctx, params.id);
  return jsonOk({ deleted: Number(params.id) });
};
