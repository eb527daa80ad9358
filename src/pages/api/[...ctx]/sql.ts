import type { APIRoute } from 'astro';
import { jsonOk, readJsonObject } from '../../../lib/server/web/http.ts';
import { RequestError } from '../../../lib/server/core/errors.ts';
import { runSql } from '../../../lib/server/services/browsing.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/** `{ "sql": "SELECT …", "explain": true }` → rows (capped by rows and bytes) and, on request, the query plan. */
export const POST: APIRoute = async ({ locals, params, request }) => {
  const body = await readJsonObject(request);
  if (typeof body.sql !== 'string') throw new RequestError('bad_json', 'Send {"sql": "SELECT …"}; "explain": true adds the query plan.');
  if (body.explain !== undefined && typeof body.explain !== 'boolean') throw new RequestError('bad_json', '"explain" must be true or false.');
  const answer = await runSql(getRuntime(), locals, params.ctx, body.sql, body.explain === true);
  return jsonOk({ ...answer.result, plan: answer.plan });
};
