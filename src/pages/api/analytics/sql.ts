import type { APIRoute } from 'astro';
import { jsonOk, readSqlRequest } from '../../../lib/server/web/http.ts';
import { runAnalyticsSql } from '../../../lib/server/services/analytics.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/** `{ "sql": "SELECT …", "explain": true }` over the analytics tables → `columns`, `rows`, `truncated`; 504 past the deadline. */
export const POST: APIRoute = async ({ locals, request }) => {
  const { sql, explain } = await readSqlRequest(request, 'returns the plan instead');
  return jsonOk({ ...(await runAnalyticsSql(getRuntime(), sql, explain, locals.user!.username)) });
};
