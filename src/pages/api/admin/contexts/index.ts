import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { CONTEXT_PAGE_SIZE, contextSummaryJson, listContextsFor, parseContextListingRequest } from '../../../../lib/server/services/operations.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';
import { contextQuotaUsage } from '../../../../lib/server/quotas/quotas.ts';

/**
 * Visible contexts, problems first, 100 a page: `?q=` part of the name, `?status=`, `?page=`.
 * `statusesCheckedAt` says when the statuses off this page were last checked.
 */
export const GET: APIRoute = async ({ locals, url }) => {
  const request = parseContextListingRequest(url.searchParams);
  const runtime = getRuntime();
  const listing = await listContextsFor(runtime, locals.user!, request);
  return jsonOk({
    contexts: listing.contexts.map((summary) => ({ ...contextSummaryJson(summary), quotas: contextQuotaUsage(runtime.settings, summary.context) })),
    total: listing.total,
    counts: listing.counts,
    page: request.page,
    pageSize: CONTEXT_PAGE_SIZE,
    statusesCheckedAt: listing.checkedAt.toISOString(),
    invalidFolders: listing.invalid,
  });
};
