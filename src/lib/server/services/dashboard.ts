import fs from 'node:fs';
import path from 'node:path';
import { canSeeContext, type SessionUser } from '../auth/access.ts';
import { mayOpen } from '../auth/routes.ts';
import type { ConsoleRuntime } from './runtime.ts';
import { listContexts, type ContextSummary } from './operations.ts';
import type { CompositeStatus } from '../composite/status.ts';
import { listDatabaseFiles, scanVolume, type VolumeContext } from '../volume/contexts.ts';
import { latestHealthRuns } from '../store/health-runs.ts';
import type { HealthReport, HealthSeverity } from '../composite/health.ts';
import type { SeverityByMonth } from '../query/findings.ts';
import { contextFindings } from './findings.ts';
import { problemOf } from '../core/errors.ts';

/**
 * Charts read every visible tenant composite; beyond this many the dashboard says how many
 * it left out instead of stalling, because fleet-wide analytics belongs to a different path
 * than per-request ATTACH.
 */
export const DASHBOARD_TENANT_LIMIT = 50;
const DASHBOARD_CONTEXT_ROWS = 20;
const DASHBOARD_HEALTH_PROBLEMS = 20;

export interface Dashboard {
  /** The contexts most in need of attention (broken, stale, missing first). */
  contexts: ContextSummary[];
  counts: Record<CompositeStatus, number>;
  findingsOverTime: SeverityByMonth[];
  findingsByTenant: Array<{ tenant: string; severity: string; count: number }>;
  /** Whether the user's gates open the fleet panels below; when not, they are empty. */
  showsFleetHealth: boolean;
  databaseSizes: Array<{ context: string; file: string; bytes: number }>;
  healthProblems: Array<{ context: string; at: string; severity: Exclude<HealthSeverity, 'ok'>; subject: string; message: string }>;
  /** Contexts whose composite could not be read, with why. */
  unavailable: Array<{ context: string; message: string }>;
  tenantsLeftOut: number;
}

function addInto(totals: Map<string, SeverityByMonth>, rows: SeverityByMonth[]): void {
  for (const row of rows) {
    const key = `${row.month}\u0000${row.severity}`;
    const total = totals.get(key);
    if (total) total.count += row.count;
    else totals.set(key, { ...row });
  }
}

/** Aggregations run on worker threads, tenant after tenant, under the page deadline each. */
export async function buildDashboard(runtime: ConsoleRuntime, user: SessionUser): Promise<Dashboard> {
  const visible = (context: VolumeContext) => canSeeContext(user, context.name);
  const { contexts, counts } = await listContexts(runtime, visible, { pageSize: DASHBOARD_CONTEXT_ROWS });
  const scan = scanVolume(runtime.volumeDir).contexts.filter(visible);
  const tenants = scan.filter((context) => context.kind === 'tenant');
  const charted = tenants.slice(0, DASHBOARD_TENANT_LIMIT);
  const described = [...scan.filter((context) => context.kind !== 'tenant'), ...charted];
  const overTime = new Map<string, SeverityByMonth>();
  const findingsByTenant: Dashboard['findingsByTenant'] = [];
  const unavailable: Dashboard['unavailable'] = [];
  for (const context of charted) {
    try {
      const findings = await contextFindings(runtime, context.name, ['severity'] as const);
      if (!findings) continue;
      addInto(overTime, findings.overTime);
      for (const facet of findings.facets.severity) findingsByTenant.push({ tenant: context.tenantId!, severity: String(facet.value), count: facet.count });
    } catch (error) {
      const problem = problemOf(error);
      if (!problem) throw error;
      unavailable.push({ context: context.name, message: problem.publicMessage });
    }
  }
  const showsFleetHealth = mayOpen(user, 'see-fleet-health');
  const databaseSizes = (showsFleetHealth ? described : []).flatMap((context) =>
    listDatabaseFiles(context).map((file) => ({ context: context.name, file, bytes: fs.statSync(path.join(context.dir, file)).size })),
  );
  const healthProblems = [...(showsFleetHealth ? latestHealthRuns<HealthReport>(runtime.store) : [])]
    .filter(([name]) => canSeeContext(user, name))
    .flatMap(([name, run]) =>
      [...run.report.findings, ...run.report.databases.flatMap((database) => database.findings)]
        .filter((finding) => finding.severity !== 'ok')
        .map((finding) => ({ context: name, at: run.at, severity: finding.severity as Exclude<HealthSeverity, 'ok'>, subject: finding.subject, message: finding.message })),
    )
    .sort((a, b) => b.at.localeCompare(a.at))
    .slice(0, DASHBOARD_HEALTH_PROBLEMS);
  return {
    contexts,
    counts,
    findingsOverTime: [...overTime.values()].sort((a, b) => (a.month === b.month ? a.severity.localeCompare(b.severity) : a.month.localeCompare(b.month))),
    findingsByTenant,
    showsFleetHealth,
    databaseSizes,
    healthProblems,
    unavailable,
    tenantsLeftOut: tenants.length - charted.length,
  };
}
