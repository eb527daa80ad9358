import type { APIRoute } from 'astro';
import { jsonOk } from '../../lib/server/web/http.ts';
import { buildDashboard } from '../../lib/server/services/dashboard.ts';
import { contextSummaryJson } from '../../lib/server/services/operations.ts';
import { getRuntime } from '../../lib/server/services/runtime.ts';

/** The dashboard's data for the signed-in user: only contexts they may see are read. */
export const GET: APIRoute = async ({ locals }) => {
  const { contexts, showsFleetHealth: _, ...dashboard } = await buildDashboard(getRuntime(), locals.user!);
  return jsonOk({ ...dashboard, contexts: contexts.map(contextSummaryJson) });
};
