import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/http.ts';
import { CONTEXT_PAGE_SIZE, contextSummaryJson, listContexts, parseContextListingRequest } from '../../../../lib/server/operations.ts';
import { canSeeContext } from '../../../../lib/server/auth/access.ts';
import { getRuntime } from '../../../../lib/server/runtime.ts';
import { contextQuotaUsage } from '../../../../lib/server/quotas.ts';

/**
 * Visible contexts, problems first, 100 a page: `?q=` part of the name, `?status=`, `?page=`.
 * `statusesCheckedAt` says when the statuses off this page were last checked.
 */
export const GET: APIRoute = async ({ locals, url }) => {
  const user = locals.user!;
  const request = parseContextListingRequest(url.searchParams);
  const runtime = getRuntime();
  const listing = await listContexts(runtime, (context) => canSeeContext(user, context.name), request);
  return jsonOk({
    contexts: listing.contexts.map((summary) => ({ ...contextSummaryJson(summary), quotas: contextQuotaUsage(runtime.settings, summary.context) })),
    total: listing.total,
    counts: listing.counts,
    page: request.page,
    pageSize: CONTEXT_PAGE_SIZE,
    statusesCheckedAt: listing.checkedAt.toISOString(),
    invalidFolders: user.role === 'admin' ? listing.invalid : [],
  });
};
