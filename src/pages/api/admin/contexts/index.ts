import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { CONTEXT_PAGE_SIZE, contextSummaryJson, listContextsFor, parseContextListingRequest } from '../../../../lib/server/services/operations.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';

/**
 * Visible contexts, problems first, 100 a page: `?q=` part of the name, `?status=`, `?page=`.
 * `statusesCheckedAt` says when the statuses off this page were last checked.
 */
export const GET: APIRoute = async ({ locals, url }) => {
  const request = parseContextListingRequest(url.searchParams);
  const listing = await listContextsFor(getRuntime(), locals.user!, request);
  return jsonOk({
    contexts: listing.contexts.map(contextSummaryJson),
    total: listing.total,
    counts: listing.counts,
    page: request.page,
    pageSize: CONTEXT_PAGE_SIZE,
    statusesCheckedAt: listing.checkedAt.toISOString(),
    invalidFolders: listing.invalid,
  });
};
