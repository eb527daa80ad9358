import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';
import { openableView, savedViewJson } from '../../../../lib/server/services/saved-views.ts';

/** One saved view, when the user may open it on this context; 404 otherwise. */
export const GET: APIRoute = ({ locals, params }) => {
  return jsonOk({ view: savedViewJson(locals, openableView(getRuntime(), locals, params.ctx, params.id)) });
};
