import type { APIRoute } from 'astro';
import { jsonOk } from '../../../../lib/server/web/http.ts';
import { contextDetail, contextSummaryJson } from '../../../../lib/server/services/operations.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';

/** One context: status, manifest, composite.sql, regeneration and health history. */
export const GET: APIRoute = ({ locals }) => {
  const detail = contextDetail(getRuntime(), locals.composite!.context);
  return jsonOk({
    summary: contextSummaryJson(detail.summary),
    manifest: detail.summary.state.manifest,
    compositeSql: detail.compositeSql,
    regenerations: detail.regenerations,
    healthRuns: detail.healthRuns.map(({ report, ...run }) => ({ ...run, findings: report.findings, databases: report.databases })),
  });
};
