import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../../lib/server/http.ts';
import { browse, browseJson, routeComposite } from '../../../../../lib/server/browsing.ts';
import { getRuntime } from '../../../../../lib/server/runtime.ts';

/** One page of rows: filters `col__op=value`, `_sort`, `_desc`, `_size`, `_cursor`, `_dir=prev`. */
export const GET: APIRoute = async ({ locals, params, url }) => {
  const handle = routeComposite(locals, params.ctx);
  return jsonOk(browseJson(await browse(getRuntime(), handle, params.object!, url.searchParams)));
};
