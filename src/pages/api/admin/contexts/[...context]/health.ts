import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../../lib/server/web/http.ts';
import { contextSummaryJson, runHealthCheck, summarizeContext } from '../../../../../lib/server/services/operations.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Runs a health check (`?full=1` for integrity_check) and stores it in the history. */
export const POST: APIRoute = ({ locals, url }) => {
  const { context } = locals.composite!;
  const runtime = getRuntime();
  const report = runHealthCheck(runtime.scopeFor(locals.user!.username), context.name, { full: url.searchParams.get('full') === '1' });
  return jsonOk({ report, summary: contextSummaryJson(summarizeContext(runtime, context)) });
};
