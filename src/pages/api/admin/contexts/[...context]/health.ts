import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../../lib/server/web/http.ts';
import { contextSummaryJson } from '../../../../../lib/server/services/operations.ts';
import { runContextAction } from '../../../../../lib/server/services/context-actions.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Runs a health check (`?full=1` for integrity_check) and stores it in the history. */
export const POST: APIRoute = async ({ locals, url }) => {
  const answer = await runContextAction(getRuntime(), locals.user!.username, 'health', locals.composite!.context, { full: url.searchParams.get('full') === '1' });
  return jsonOk({ report: answer.report, summary: contextSummaryJson(answer.summary) });
};
