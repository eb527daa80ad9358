import type { APIRoute } from 'astro';
import { jsonOk, readJsonObject } from '../../../../lib/server/web/http.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';
import { saveViewOn, savedViewJson, savedViewsOf } from '../../../../lib/server/services/saved-views.ts';

/** The context's saved views the user may open. */
export const GET: APIRoute = ({ locals, params }) => {
  return jsonOk({ views: savedViewsOf(getRuntime(), locals, params.ctx).map((view) => savedViewJson(locals, view)) });
};

/** Saves `{name, description?, kind: "browse"|"sql", target, shared?}` on the context; audited. */
export const POST: APIRoute = async ({ locals, params, request }) => {
  const view = saveViewOn(getRuntime(), locals, params.ctx, await readJsonObject(request));
  return jsonOk({ view: savedViewJson(locals, view) }, 201);
};
