import type { APIRoute } from 'astro';
import { jsonError, jsonOk } from '../../../../../lib/server/web/http.ts';
import { RequestError } from '../../../../../lib/server/core/errors.ts';
import { objectNameOf, rowDetail, routeComposite } from '../../../../../lib/server/services/browsing.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** One row by the key the rows page gave it (`?_key=`, with the same sort and filters). */
export const GET: APIRoute = async ({ locals, params, url }) => {
  const handle = routeComposite(locals, params.ctx);
  const key = url.searchParams.get('_key');
  if (!key) throw new RequestError('missing_key', 'Pass the row key from the rows page as ?_key=.');
  const { object, row } = await rowDetail(getRuntime(), handle, objectNameOf(locals, handle, params.object), key, url.searchParams);
  if (!row) return jsonError(404, 'row_not_found', `That row of ${object.name} no longer exists.`);
  return jsonOk({ object: object.name, row });
};
