import type { APIRoute } from 'astro';
import { jsonOk, readJsonObject } from '../../../lib/server/web/http.ts';
import { RequestError } from '../../../lib/server/core/errors.ts';
import { runAnalyticsSql } from '../../../lib/server/services/analytics.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/** `{ "sql": "SELECT …", "explain": true }` over the analytics tables → `columns`, `rows`, `truncated`; 504 past the deadline. */
export const POST: APIRoute = async ({ request }) => {
  const body = await readJsonObject(request);
  if (typeof body.sql !== 'string') throw new RequestError('bad_json', 'Send {"sql": "SELECT …"}; "explain": true returns the plan instead.');
  if (body.explain !== undefined && typeof body.explain !== 'boolean') throw new RequestError('bad_json', '"explain" must be true or false.');
  return jsonOk({ ...(await runAnalyticsSql(getRuntime(), body.sql, body.explain === true)) });
};
