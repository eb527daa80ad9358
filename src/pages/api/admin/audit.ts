import type { APIRoute } from 'astro';
import { listAudit, MAX_AUDIT_PAGE } from '../../../lib/server/store/audit.ts';
import { jsonOk } from '../../../lib/server/web/http.ts';
import { RequestError } from '../../../lib/server/core/errors.ts';
import { getRuntime } from '../../../lib/server/services/runtime.ts';

const DEFAULT_LIMIT = 50;

function positiveInteger(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(raw)) throw new RequestError('bad_parameter', `${name} must be a whole number of 1 or more, got "${raw}"`);
  return Number(raw);
}

/**
 * The audit log, newest first: `?limit` (1 to 500, default 50) and `?before=<id>` for the
 * next page; `nextBefore` is that id, or null on the last page.
 */
export const GET: APIRoute = ({ url }) => {
  const limit = positiveInteger(url.searchParams, 'limit') ?? DEFAULT_LIMIT;
  if (limit > MAX_AUDIT_PAGE) throw new RequestError('bad_parameter', `limit must be at most ${MAX_AUDIT_PAGE}, got ${limit}`);
  const events = listAudit(getRuntime().store, { limit, before: positiveInteger(url.searchParams, 'before') });
  return jsonOk({ events, nextBefore: events.length === limit ? events.at(-1)!.id : null });
};
