import type { APIRoute } from 'astro';
import { jsonOk } from '../../../lib/server/http.ts';
import { analyticsState } from '../../../lib/server/analytics/console.ts';
import { getRuntime } from '../../../lib/server/runtime.ts';

/** The served analytics (tables, freshness), a running refresh's progress and the latest runs. */
export const GET: APIRoute = async () => jsonOk({ ...(await analyticsState(getRuntime())) });
