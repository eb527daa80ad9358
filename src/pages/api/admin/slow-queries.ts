import type { APIRoute } from 'astro';
import { jsonOk } from '../../../lib/server/web/http.ts';
import { slowestWithPlans, RECENT_DAYS } from '../../../lib/server/slow-queries/slow-queries.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/** The slowest reads of the last days with their query plans and index advice (admins; routes.ts). */
export const GET: APIRoute = async () => {
  const runtime = getRuntime();
  return jsonOk({ days: RECENT_DAYS, thresholdMs: runtime.settings.slowQueryMs, queries: await slowestWithPlans(runtime.store, runtime.queryPlan) });
};
