import type { APIRoute } from 'astro';
import { jsonOk } from '../../lib/server/web/http.ts';
import { buildDashboard } from '../../lib/server/services/dashboard.ts';
import { contextSummaryJson } from '../../lib/server/services/operations.ts';
import { getRuntime } from '../../lib/server/services/runtime.ts';

/** The dashboard's data for the signed-in user: only contexts they may see are read. */
export const GET: APIRoute = async ({ locals }) => {
  const user = locals.user!;
  const { contexts, ...dashboard } = await buildDashboard(getRuntime(), user);
  const management = user.role !== 'tenant';
  return jsonOk({
    ...dashboard,
    contexts: contexts.map(contextSummaryJson),
    databaseSizes: management ? dashboard.databaseSizes : [],
    healthProblems: management ? dashboard.healthProblems : [],
  });
};
