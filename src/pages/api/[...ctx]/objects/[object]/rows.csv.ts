import type { APIRoute } from 'astro';
import { exportResponse } from '../../../../../lib/server/services/browsing.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Every row matching the rows page's filters and sort, streamed as CSV. */
export const GET: APIRoute = ({ locals, params, url }) => exportResponse(getRuntime(), locals, params, url, 'csv');
