import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../../lib/server/web/http.ts';
import { contextSummaryJson, regenerationFailureMessage } from '../../../../../lib/server/services/operations.ts';
import { runContextAction } from '../../../../../lib/server/services/context-actions.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Regenerates the context's composite; on failure the previous one keeps serving (422 with file:line problems). */
export const POST: APIRoute = async ({ locals }) => {
  const answer = await runContextAction(getRuntime(), locals.user!.username, 'regenerate', locals.composite!.context);
  const { result } = answer;
  const summary = contextSummaryJson(answer.summary);
  if (!result.ok) {
    return Response.json(
      { ok: false, error: { code: 'regeneration_failed', message: regenerationFailureMessage(result) }, problems: result.problems, summary },
      { status: 422 },
    );
  }
  return jsonOk({ generatedAt: result.manifest.generatedAt, summary });
};
