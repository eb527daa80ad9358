import type { APIRoute } from 'astro';
import { jsonError, jsonOk } from '../../../../../lib/server/web/http.ts';
import { contextSummaryJson, regenerateContext, regenerationFailureMessage, summarizeContext } from '../../../../../lib/server/services/operations.ts';
import { canRegenerate } from '../../../../../lib/server/auth/access.ts';
import { getRuntime } from '../../../../../lib/server/services/runtime.ts';

/** Regenerates the context's composite; on failure the previous one keeps serving (422 with file:line problems). */
export const POST: APIRoute = ({ locals }) => {
  const user = locals.user!;
  const { context } = locals.composite!;
  if (!canRegenerate(user)) return jsonError(403, 'forbidden', 'Only admins can regenerate composites; operators can run health checks.');
  const runtime = getRuntime();
  const result = regenerateContext(runtime.scopeFor(user.username), context.name);
  const summary = contextSummaryJson(summarizeContext(runtime, context));
  if (!result.ok) {
    return Response.json(
      { ok: false, error: { code: 'regeneration_failed', message: regenerationFailureMessage(result) }, problems: result.problems, summary },
      { status: 422 },
    );
  }
  return jsonOk({ generatedAt: result.manifest.generatedAt, summary });
};
