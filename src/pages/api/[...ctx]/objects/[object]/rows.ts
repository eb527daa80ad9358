import type { APIRoute } from 'astro';
import { browse, browseResponse, objectNameOf, routeComposite } from '../../../../../lib/server/services/browsing.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** One page of rows: filters `col__op=value`, `_sort`, `_desc`, `_size`, `_cursor`, `_dir=prev`. */
export const GET: APIRoute = async ({ locals, params, url }) => {
  const handle = routeComposite(locals, params.ctx);
  return browseResponse(await browse(getRuntime(), handle, objectNameOf(locals, handle, params.object), url.searchParams));
};
