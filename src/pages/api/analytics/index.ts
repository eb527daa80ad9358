import type { APIRoute } from 'astro';
import { jsonOk } from '../../../lib/server/web/http.ts';
import { analyticsState } from '../../../lib/server/services/analytics.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/** The served analytics (tables, freshness), a running refresh's progress and the latest runs. */
export const GET: APIRoute = async () => jsonOk({ ...(await analyticsState(getRuntime())) });
