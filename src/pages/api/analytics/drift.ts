import type { APIRoute } from 'astro';
import { jsonOk } from '../../../lib/server/web/http.ts';
import { driftReport } from '../../../lib/server/store/analytics-refreshes.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/** The schema drift report of the latest complete refresh, worst first. */
export const GET: APIRoute = () => jsonOk({ drift: driftReport(getRuntime().store) });
