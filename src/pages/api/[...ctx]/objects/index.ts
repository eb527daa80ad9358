import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { objectsOf, routeComposite } from '../../../../lib/server/services/browsing.ts';
import { columnKind } from '../../../../lib/server/query/objects.ts';

/** The composite's TEMP views and attached tables, with their descriptions and columns (declared type, kind, description). */
export const GET: APIRoute = ({ locals, params }) => {
  const handle = routeComposite(locals, params.ctx);
  return jsonOk({
    context: handle.context.name,
    objects: objectsOf(handle).map(({ name, kind, columns, description }) => ({
      name,
      kind,
      description: description ?? null,
      columns: columns.map((column) => ({ ...column, description: column.description ?? null, kind: columnKind(column) })),
    })),
  });
};
