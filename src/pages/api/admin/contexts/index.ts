import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/http.ts';
import { contextSummaryJson, summarizeVolume } from '../../../../lib/server/operations.ts';
import { canSeeContext } from '../../../../lib/server/auth/access.ts';
import { getRuntime } from '../../../../lib/server/runtime.ts';

/** Every context the user may see, with composite status, last regeneration and last health. */
export const GET: APIRoute = ({ locals }) => {
  const { settings, store } = getRuntime();
  const user = locals.user!;
  const summary = summarizeVolume({ volumeDir: settings.volumeDir, store }, (context) => canSeeContext(user, context.name));
  return jsonOk({
    contexts: summary.contexts.map(contextSummaryJson),
    invalidFolders: user.role === 'admin' ? summary.invalid : [],
  });
};
