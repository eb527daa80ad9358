import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { objectsOf, routeComposite } from '../../../../lib/server/services/browsing.ts';

/** The composite's TEMP views and attached tables, with their columns. */
export const GET: APIRoute = ({ locals, params }) => {
  const handle = routeComposite(locals, params.ctx);
  return jsonOk({ context: handle.context.name, objects: objectsOf(handle).map(({ name, kind, columns }) => ({ name, kind, columns })) });
};
