import type { APIRoute } from 'astro';
import { jsonOk, readSqlRequest } from '../../../lib/server/web/http.ts';
import { runSql } from '../../../lib/server/services/browsing.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/** `{ "sql": "SELECT …", "explain": true }` → rows (capped by rows and bytes) and, on request, the query plan. */
export const POST: APIRoute = async ({ locals, params, request }) => {
  const { sql, explain } = await readSqlRequest(request, 'adds the query plan');
  const answer = await runSql(getRuntime(), locals, params.ctx, sql, explain);
  return jsonOk({ ...answer.result, plan: answer.plan });
};
