import type { APIRoute } from 'astro';
import { jsonOk, optionalBoolean, readJsonObject } from '../../../lib/server/web/http.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

/**
 * Admin: starts a refresh in a child process (`{"full": true}` reads every tenant again);
 * answers 202 at once, 409 while one runs. The page's form posts here too without
 * JavaScript, and is sent back to the page.
 */
export const POST: APIRoute = async ({ locals, request, redirect }) => {
  const form = request.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded') ?? false;
  const full = form ? (await request.formData()).get('full') === 'on' : optionalBoolean(await readJsonObject(request), 'full');
  const runtime = getRuntime();
  runtime.analyticsRefresher.start(locals.user!.username, full);
  return form ? redirect('/analytics', 303) : jsonOk({ refresh: runtime.analyticsRefresher.status() }, 202);
};
