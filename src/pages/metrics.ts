import type { APIRoute } from 'astro';
import { metricsText } from '../lib/server/metrics/metrics.ts';
import { getRuntime } from '../lib/server/services/runtime.ts';

/** Prometheus text exposition (admin session or TRUTH_YARD_METRICS_TOKEN; see metricsAccess in routes.ts). */
export const GET: APIRoute = async () => {
  // The runtime starts the server's own collectors (process, connections, sizes).
  getRuntime();
  const { body, contentType } = await metricsText();
  return new Response(body, { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
};
