import { canSeeContext, type SessionUser } from '../auth/access.ts';
import { mayOpen } from '../auth/routes.ts';
import type { ConsoleRuntime } from './runtime.ts';
import { contextsVisibleTo, listContexts, type ContextListing, type ContextSummary } from './operations.ts';
import type { CompositeStatus } from '../composite/status.ts';
import { resolveContext, UnknownContextError, type VolumeContext } from '../volume/contexts.ts';
import { measureContext } from '../quotas/quotas.ts';
import { latestProblemRuns } from '../store/health-runs.ts';
import type { HealthReport, HealthSeverity } from '../composite/health.ts';
import type { SeverityByMonth } from '../query/findings.ts';
import { contextFindings } from './findings.ts';
import { problemOf } from '../core/errors.ts';

const DASHBOARD_CONTEXT_ROWS = 20;
const DASHBOARD_HEALTH_PROBLEMS = 20;

/** Where a fleet user's charts come from: the analytics, with how fresh they are. */
export interface FleetFreshness {
  refreshedAt: string;
  tenants: number;
  findings: number;
  tenantsWithFindings: number;
  refreshing: boolean;
  /** Tenants the refresh could not read (broken composite, unreadable database). */
  unreadTenants: Array<{ tenant: string; problem: string }>;
  /** False when all_findings lacks severity, status or created_at. */
  charted: boolean;
}

export interface Dashboard {
  /** The contexts most in need of attention (broken, stale, missing first). */
  contexts: ContextSummary[];
  counts: Record<CompositeStatus, number>;
  findingsOverTime: SeverityByMonth[];
  /**
   * Tenant users: findings by severity of each of their tenants. Fleet users: the tenants
   * with the most open critical and high findings, over the whole fleet.
   */
  findingsByTenant: Array<{ tenant: string; severity: string; count: number }>;
  /** Whether the user's gates open the fleet panels below; when not, they are empty. */
  showsFleetHealth: boolean;
  databaseSizes: Array<{ context: string; file: string; bytes: number }>;
  healthProblems: Array<{ context: string; at: string; severity: Exclude<HealthSeverity, 'ok'>; subject: string; message: string }>;
  /** Contexts whose composite could not be read, with why. */
  unavailable: Array<{ context: string; message: string }>;
  /** Fleet users (admins, operators): how fresh the analytics are; null before the first refresh, and for tenant users. */
  fleet: FleetFreshness | null;
}

function addInto(totals: Map<string, SeverityByMonth>, rows: SeverityByMonth[]): void {
  for (const row of rows) {
    const key = `${row.month}\u0000${row.severity}`;
    const total = totals.get(key);
    if (total) total.count += row.count;
    else totals.set(key, { ...row });
  }
}

type Charts = Pick<Dashboard, 'findingsOverTime' | 'findingsByTenant' | 'unavailable' | 'fleet'> & { tenantSizes: Dashboard['databaseSizes'] };

/**
 * A tenant user's charts read their own composites (a handful), on worker threads under the
 * page deadline each; the analytics never reach them.
 */
async function tenantCharts(runtime: ConsoleRuntime, tenants: VolumeContext[]): Promise<Charts> {
  const overTime = new Map<string, SeverityByMonth>();
  const findingsByTenant: Dashboard['findingsByTenant'] = [];
  const unavailable: Dashboard['unavailable'] = [];
  for (const context of tenants) {
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
  const findingsOverTime = [...overTime.values()].sort((a, b) => (a.month === b.month ? a.severity.localeCompare(b.severity) : a.month.localeCompare(b.month)));
  return { findingsOverTime, findingsByTenant, unavailable, fleet: null, tenantSizes: sizesOf(tenants) };
}

/** A fleet user's charts: every tenant, from the analytics' rollups (read once per refresh), never from composites. */
async function fleetCharts(runtime: ConsoleRuntime): Promise<Charts> {
  const refreshing = runtime.analyticsRefresher.status().running;
  if (!runtime.analytics.available()) return { findingsOverTime: [], findingsByTenant: [], unavailable: [], fleet: null, tenantSizes: [] };
  const charts = await runtime.analytics.fleetCharts();
  return {
    findingsOverTime: charts.findingsByMonth,
    findingsByTenant: charts.topTenants.flatMap((t) => [
      { tenant: t.tenant, severity: 'critical', count: t.critical },
      { tenant: t.tenant, severity: 'high', count: t.high },
    ]),
    unavailable: [],
    tenantSizes: charts.largestTenants.map((t) => ({ context: `tenant/${t.tenant}`, file: 'databases', bytes: t.bytes })),
    fleet: {
      refreshedAt: charts.overview.refreshedAt,
      tenants: charts.overview.tenants,
      findings: charts.totals.reduce((sum, t) => sum + t.count, 0),
      tenantsWithFindings: charts.tenantsWithFindings,
      refreshing,
      unreadTenants: charts.overview.unreadTenants,
      charted: charts.charted,
    },
  };
}

/** Measured as quotas measure them: a database removed between the listing and its stat counts as empty, not a failed page. */
function sizesOf(contexts: VolumeContext[]): Dashboard['databaseSizes'] {
  return contexts.flatMap((context) => measureContext(context).databases.map(({ file, bytes }) => ({ context: context.name, file, bytes })));
}

function resolvable(volumeDir: string, names: string[]): VolumeContext[] {
  return names.flatMap((name) => {
    try {
      return [resolveContext(volumeDir, name)];
    } catch (error) {
      if (error instanceof UnknownContextError) return [];
      throw error;
    }
  });
}

/**
 * Working out the fleet's listing (every context's status, sorted) takes about 20 ms at
 * 10,000 contexts, on every dashboard request. A large volume's statuses only change when
 * the status index checks them again (in the background, at most every 2 s), so a fleet
 * user's listing is reused until then; one per volume and role, as the role decides what is listed.
 */
const fleetListings = new Map<string, { checkedAt: number; listing: Promise<ContextListing> }>();

async function fleetListing(runtime: ConsoleRuntime, user: SessionUser): Promise<ContextListing> {
  const { checkedAt, current } = await runtime.statusIndex.statuses();
  if (current) return listContexts(runtime, contextsVisibleTo(user), { pageSize: DASHBOARD_CONTEXT_ROWS });
  const key = `${runtime.volumeDir}\u0000${user.role}`;
  const reused = fleetListings.get(key);
  if (reused?.checkedAt === checkedAt.getTime()) return reused.listing;
  const listing = listContexts(runtime, contextsVisibleTo(user), { pageSize: DASHBOARD_CONTEXT_ROWS });
  fleetListings.set(key, { checkedAt: checkedAt.getTime(), listing });
  listing.catch(() => fleetListings.delete(key));
  return listing;
}

/**
 * The dashboard: context statuses from the status index; charts from the analytics for
 * admins and operators (every tenant, no limit), from their own composites for tenant users.
 */
export async function buildDashboard(runtime: ConsoleRuntime, user: SessionUser): Promise<Dashboard> {
  const fleetUser = mayOpen(user, 'read-fleet-analytics');
  const { contexts, counts } = fleetUser ? await fleetListing(runtime, user) : await listContexts(runtime, contextsVisibleTo(user), { pageSize: DASHBOARD_CONTEXT_ROWS });
  const showsFleetHealth = mayOpen(user, 'see-fleet-health');
  const charts = fleetUser ? await fleetCharts(runtime) : await tenantCharts(runtime, resolvable(runtime.volumeDir, user.tenants.map((t) => `tenant/${t}`)));
  const shared = showsFleetHealth ? sizesOf(resolvable(runtime.volumeDir, ['admin', 'cross-tenant'].filter((name) => canSeeContext(user, name)))) : [];
  const healthProblems: Dashboard['healthProblems'] = [];
  for (const run of showsFleetHealth ? latestProblemRuns<HealthReport>(runtime.store) : []) {
    if (healthProblems.length >= DASHBOARD_HEALTH_PROBLEMS) break;
    if (!canSeeContext(user, run.context)) continue;
    for (const finding of [...run.report.findings, ...run.report.databases.flatMap((database) => database.findings)]) {
      if (finding.severity !== 'ok') healthProblems.push({ context: run.context, at: run.at, severity: finding.severity, subject: finding.subject, message: finding.message });
    }
  }
  healthProblems.length = Math.min(healthProblems.length, DASHBOARD_HEALTH_PROBLEMS);
  const { tenantSizes, ...chartData } = charts;
  return { contexts, counts, ...chartData, showsFleetHealth, databaseSizes: showsFleetHealth ? [...shared, ...tenantSizes] : [], healthProblems };
}
