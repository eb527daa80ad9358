import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type Database from 'better-sqlite3';
import { compositeSqlPath, scanVolume, resolveContext, type InvalidContextFolder, type VolumeContext } from '../volume/contexts.ts';
import { compositeState, type CompositeState, type CompositeStatus } from '../composite/status.ts';
import type { VolumeStatusIndex } from '../composite/status-index.ts';
import { storeAsProblem } from '../store/database.ts';
import { ProblemError, problemFromData, problemOf, RequestError, type ProblemData } from '../core/errors.ts';
import { checkHealth, type HealthFinding, type HealthReport } from '../composite/health.ts';
import { driftReport } from '../store/analytics-refreshes.ts';
import type { RegenerationResult } from '../composite/regenerate.ts';
import { recordRegeneration, latestRegeneration, latestRegenerations, regenerationHistory, type RegenerationRecord } from '../store/regenerations.ts';
import { recordHealthRun, latestHealthRuns, healthHistory, type HealthRunRecord } from '../store/health-runs.ts';
import { recordAudit } from '../store/audit.ts';
import { latestRunsReader } from '../store/latest-runs.ts';
import { canSeeContext, contextVisibilityKey, type SessionUser } from '../auth/access.ts';
import { mayOpen } from '../auth/routes.ts';
import { PROJECT_ROOT } from '../core/project-root.ts';
import { measureContext, quotaUsage, withQuotaFindings, type QuotaLimits } from '../quotas/quotas.ts';
import { countHealthRun, countRegeneration } from '../metrics/metrics.ts';
import { regenerateTimed, type HealthTask, type RegenerateTask, type TimedRegeneration } from '../composite/regenerate-worker.ts';

/**
 * The operations an operator runs, shared by the web console and the command line so both
 * regenerate, check and record the same way. Each takes the volume and the console store
 * explicitly; callers decide where those come from.
 */
export interface OperationsScope {
  volumeDir: string;
  store: Database.Database;
  /** Who asked, for the audit trail: a user name, `cli` or `system`. */
  actor: string;
  /** Told when a context's composite was replaced, so open connections are dropped. */
  onRegenerated?: (contextName: string) => void;
  /** The quota limits of a context, for health checks to report usage against; none: not reported. */
  quotaLimits?: (contextName: string) => QuotaLimits;
}

export interface ContextSummary {
  context: VolumeContext;
  state: CompositeState;
  attachmentCount: number;
  generatedAt: string | null;
  lastRegeneration: RegenerationRecord | null;
  lastHealth: HealthRunRecord<HealthReport> | null;
}

export interface VolumeSummary {
  contexts: ContextSummary[];
  invalid: InvalidContextFolder[];
}

function summarize(
  context: VolumeContext,
  lastRegeneration: RegenerationRecord | null,
  lastHealth: HealthRunRecord<HealthReport> | null,
  state: CompositeState = compositeState(context),
): ContextSummary {
  return {
    context,
    state,
    attachmentCount: state.manifest?.attachments.length ?? 0,
    generatedAt: state.manifest?.generatedAt ?? null,
    lastRegeneration,
    lastHealth,
  };
}

export function summarizeVolume(scope: Pick<OperationsScope, 'volumeDir' | 'store'>, filter: (context: VolumeContext) => boolean = () => true): VolumeSummary {
  const scan = scanVolume(scope.volumeDir);
  const regenerations = latestRegenerations(scope.store);
  const healthRuns = latestHealthRuns<HealthReport>(scope.store);
  const contexts = scan.contexts
    .filter(filter)
    .map((context) => summarize(context, regenerations.get(context.name) ?? null, healthRuns.get(context.name) ?? null));
  return { contexts, invalid: scan.invalid };
}

/** A context's summary with its latest regeneration and health run; `state` when it was just checked. */
export function summarizeContext(scope: Pick<OperationsScope, 'store'>, context: VolumeContext, state?: CompositeState): ContextSummary {
  return summarize(context, latestRegeneration(scope.store, context.name), healthHistory<HealthReport>(scope.store, context.name, 1)[0] ?? null, state);
}

/** The JSON shape of a context summary in the API. */
export function contextSummaryJson(summary: ContextSummary) {
  return {
    context: summary.context.name,
    kind: summary.context.kind,
    tenantId: summary.context.tenantId,
    status: summary.state.status,
    reasons: summary.state.reasons,
    attachmentCount: summary.attachmentCount,
    generatedAt: summary.generatedAt,
    lastRegeneration: summary.lastRegeneration,
    lastHealth: summary.lastHealth && { at: summary.lastHealth.at, worstSeverity: summary.lastHealth.worstSeverity, status: summary.lastHealth.status, full: summary.lastHealth.full },
  };
}

/** Records a regeneration and its audit event in one commit, and drops connections to a replaced composite. */
function recordRegenerationOutcome(scope: OperationsScope, { result, startedAt, finishedAt }: TimedRegeneration): void {
  // One commit for both records: the console store syncs every commit to disk.
  scope.store.transaction(() => {
    recordRegeneration(scope.store, {
      context: result.context,
      startedAt,
      finishedAt,
      outcome: result.ok ? 'ok' : 'error',
      sourceSha256: result.ok ? result.manifest.sourceSha256 : result.sourceSha256,
      problems: result.ok ? [] : result.problems,
      actor: scope.actor,
    });
    recordAudit(scope.store, {
      actor: scope.actor,
      action: 'composite.regenerate',
      target: result.context,
      outcome: result.ok ? 'ok' : 'error',
      detail: result.ok ? { generatedAt: result.manifest.generatedAt } : { problems: result.problems },
    });
  }).immediate();
  countRegeneration(result.ok ? 'ok' : 'error');
  if (result.ok) scope.onRegenerated?.(result.context);
}

/** A regeneration whose record and audit event could not be written: said, never hidden behind the outcome. */
export class RegenerationNotRecordedError extends ProblemError {
  constructor(result: RegenerationResult, reason: ProblemError | Error) {
    const done = result.ok ? `${result.context} was regenerated (the new composite serves)` : `${result.context} was not regenerated (composite.sql has problems)`;
    super(
      reason instanceof ProblemError ? reason.code : 'record_failed',
      `${done}, but its record and audit event could not be written: ${reason instanceof ProblemError ? reason.publicMessage : reason.message}`,
      reason instanceof ProblemError ? reason.status : 500,
    );
  }
}

/** Records the outcome before anyone is told of it; a failure to record is reported with what did happen. */
function recordOrReport(scope: OperationsScope, timed: TimedRegeneration): void {
  try {
    recordRegenerationOutcome(scope, timed);
  } catch (error) {
    if (timed.result.ok) scope.onRegenerated?.(timed.result.context);
    throw new RegenerationNotRecordedError(timed.result, (problemOf(storeAsProblem(error)) ?? error) as Error);
  }
}

/** Regenerates one context's composite and records the outcome and the audit event. */
export function regenerateContext(scope: OperationsScope, contextName: string): RegenerationResult {
  const timed = regenerateTimed({ volumeDir: scope.volumeDir, context: contextName });
  recordOrReport(scope, timed);
  return timed.result;
}

/**
 * The same on a worker thread, as the server regenerates: parsing and planning composite.sql
 * and waiting for another regeneration's lock must not hold up every other request.
 */
export async function regenerateContextOnWorker(scope: OperationsScope, contextName: string): Promise<RegenerationResult> {
  return regenerateOn(serverWorkers(), scope, resolveContext(scope.volumeDir, contextName));
}

/**
 * Regenerates many contexts on `threads` worker threads at once (`yard regenerate --all`):
 * each composite waits on its own fsyncs, and two of them overlap those waits and use both
 * cores. Outcomes are recorded here, as each finishes; results come back in the order given.
 */
export async function regenerateContexts(scope: OperationsScope, contexts: VolumeContext[], threads: number, onDone: (context: VolumeContext) => void = () => {}): Promise<RegenerationResult[]> {
  const pool = compositeWorkers({ minThreads: threads, maxThreads: threads });
  try {
    return await Promise.all(
      contexts.map(async (context) => {
        const result = await regenerateOn(pool, scope, context);
        onDone(context);
        return result;
      }),
    );
  } finally {
    await pool.destroy();
  }
}

/** One context regenerated on a thread of `pool`, its outcome recorded. */
async function regenerateOn(pool: Piscina, scope: OperationsScope, context: VolumeContext): Promise<RegenerationResult> {
  const timed: TimedRegeneration | { problem: ProblemData } = await pool.run({ volumeDir: scope.volumeDir, context: context.name } satisfies RegenerateTask);
  if ('problem' in timed) throw problemFromData(timed.problem);
  recordOrReport(scope, timed);
  return timed.result;
}

/** Worker threads that regenerate composites and check their health (`composite/regenerate-worker.ts`). */
function compositeWorkers(threads: { minThreads: number; maxThreads: number; idleTimeout?: number }): Piscina {
  return new Piscina({
    filename: pathToFileURL(path.join(PROJECT_ROOT, 'src/lib/server/composite/regenerate-worker.mjs')).href,
    ...threads,
    // A composite.sql is bounded (MAX_COMPOSITE_SQL_BYTES), so this is room to spare; should
    // anything still run away, the worker ends, not the server.
    resourceLimits: { maxOldGenerationSizeMb: 256 },
  });
}

/**
 * The server's workers for regenerations and health checks, kept between them: a thread
 * loads the TypeScript modules it runs, hundreds of milliseconds of a core, which a kept one
 * pays once. Up to one per core; a thread idle for a minute ends.
 */
let keptWorkers: Piscina | undefined;
function serverWorkers(): Piscina {
  keptWorkers ??= compositeWorkers({ minThreads: 0, maxThreads: 2, idleTimeout: 60_000 });
  return keptWorkers;
}

/** The one sentence shown for a failed regeneration, by the API and by the pages alike. */
export function regenerationFailureMessage(result: Extract<RegenerationResult, { ok: false }>): string {
  return `composite.sql of ${result.context} has ${result.problems.length} ${result.problems.length === 1 ? 'problem' : 'problems'}; the previous composite keeps serving.`;
}

/**
 * A tenant whose gathered objects differ from most tenants' (the latest analytics refresh's
 * drift report) gets a warning in its health: its analytics rows have NULLs or are missing.
 */
function withDriftFinding(store: Database.Database, context: VolumeContext, report: HealthReport): HealthReport {
  if (context.kind !== 'tenant') return report;
  const drift = driftReport(store, context.tenantId!).filter((entry) => entry.severity !== 'info');
  if (drift.length === 0) return report;
  const finding: HealthFinding = {
    subject: 'analytics',
    check: 'schema_drift',
    severity: 'warn',
    message: `schema drift from most tenants (${drift.length}): ${drift.slice(0, 3).map((entry) => entry.message).join('; ')}; see /analytics/drift`,
  };
  return { ...report, findings: [...report.findings, finding], worstSeverity: report.worstSeverity === 'error' ? 'error' : 'warn' };
}

/** Runs a health check on one context and stores it in the health history. */
export function runHealthCheck(scope: OperationsScope, contextName: string, options: { full?: boolean } = {}): HealthReport {
  const context = resolveContext(scope.volumeDir, contextName);
  return recordHealthCheck(scope, context, checkHealth(context, { full: options.full ?? false }), options);
}

/**
 * The same on a worker thread, as the server checks: `quick_check` and `integrity_check` read
 * every page of every database, which must not hold up every other request.
 */
export async function runHealthCheckOnWorker(scope: OperationsScope, contextName: string, options: { full?: boolean } = {}): Promise<HealthReport> {
  const context = resolveContext(scope.volumeDir, contextName);
  const task: HealthTask = { volumeDir: scope.volumeDir, context: context.name, full: options.full ?? false };
  const checked: HealthReport | { problem: ProblemData } = await serverWorkers().run(task, { name: 'checkHealthOnWorker' });
  if ('problem' in checked) throw problemFromData(checked.problem);
  return recordHealthCheck(scope, context, checked, options);
}

/** Adds the drift and quota findings to a context's checked health, and stores it with its audit event. */
function recordHealthCheck(scope: OperationsScope, context: VolumeContext, health: HealthReport, options: { full?: boolean }): HealthReport {
  const checked = withDriftFinding(scope.store, context, health);
  const report = scope.quotaLimits ? withQuotaFindings(checked, quotaUsage(measureContext(context), scope.quotaLimits(context.name))) : checked;
  countHealthRun(report.worstSeverity);
  scope.store.transaction(() => {
    recordHealthRun(scope.store, { context: context.name, status: report.status, worstSeverity: report.worstSeverity, full: report.full, report });
    recordAudit(scope.store, {
      actor: scope.actor,
      action: options.full ? 'composite.health.full' : 'composite.health',
      target: context.name,
      outcome: report.worstSeverity === 'error' ? 'error' : 'ok',
      detail: { worstSeverity: report.worstSeverity },
    });
  }).immediate();
  return report;
}

export interface ContextDetail {
  summary: ContextSummary;
  /** composite.sql as it is on disk now, or null when it is missing. */
  compositeSql: string | null;
  regenerations: RegenerationRecord[];
  healthRuns: HealthRunRecord<HealthReport>[];
}

/** Everything the context page shows: summary, source, manifest (in the summary's state), history. */
export function contextDetail(scope: Pick<OperationsScope, 'store'>, context: VolumeContext, historyLength = 20): ContextDetail {
  let compositeSql: string | null = null;
  try {
    compositeSql = fs.readFileSync(compositeSqlPath(context), 'utf8');
  } catch {
    compositeSql = null;
  }
  return {
    summary: summarizeContext(scope, context),
    compositeSql,
    regenerations: regenerationHistory(scope.store, context.name, historyLength),
    healthRuns: healthHistory<HealthReport>(scope.store, context.name, historyLength),
  };
}

export const CONTEXT_PAGE_SIZE = 100;

export interface ContextListing {
  /** The contexts on this page, problems first (broken, stale, missing, fresh), then by name. */
  contexts: ContextSummary[];
  /** How many match the search and status filter, over all pages. */
  total: number;
  /** Visible contexts per status, over the whole volume, whatever the filter. */
  counts: Record<CompositeStatus, number>;
  invalid: InvalidContextFolder[];
  /** When the statuses of contexts not on this page were checked (the page's own are checked now). */
  checkedAt: Date;
  /** False when the volume is large enough to be checked in the background, so other pages' counts may be that old. */
  checkedNow: boolean;
}

export interface ContextListingRequest {
  /** Part of the context name, e.g. `acme` or `tenant/t00`. */
  search?: string;
  status?: CompositeStatus;
  page?: number;
  pageSize?: number;
}

const STATUS_ORDER: CompositeStatus[] = ['broken', 'stale', 'missing', 'fresh'];

/**
 * The contexts a page shows are checked on its request, unless a request less than this
 * long before checked them: a hundred contexts are four hundred stat calls, the largest
 * part of a page at 10,000 tenants under 16 connections, and requests arriving together
 * need only one look at the files.
 */
const SHOWN_CHECK_SHARED_MS = 100;

/** A list's contexts in order and its counts, as worked out of one set of statuses. */
interface OrderedContexts {
  matching: VolumeContext[];
  counts: Record<CompositeStatus, number>;
}

/**
 * The visible contexts that match, problems first (the scan lists them by name, and each
 * status keeps that order), with the counts per status of every visible context: a pass
 * over every context, so the status index keeps it until a status changes.
 */
function orderContexts(contexts: VolumeContext[], visible: (context: VolumeContext) => boolean, stateOf: (context: VolumeContext) => CompositeState, search: string, status: CompositeStatus | undefined): OrderedContexts {
  const counts = { broken: 0, stale: 0, missing: 0, fresh: 0 } satisfies Record<CompositeStatus, number>;
  const byStatus: Record<CompositeStatus, VolumeContext[]> = { broken: [], stale: [], missing: [], fresh: [] };
  for (const context of contexts) {
    if (!visible(context)) continue;
    const state = stateOf(context);
    counts[state.status] += 1;
    if ((!search || context.name.toLowerCase().includes(search)) && (!status || state.status === status)) byStatus[state.status].push(context);
  }
  return { matching: STATUS_ORDER.flatMap((each) => byStatus[each]), counts };
}

/**
 * One page of the visible contexts, with counts per status, for lists that must scale to
 * thousands of tenants: statuses come from the volume's status index, which keeps the
 * order and counts until a status changes; the contexts on the page are checked again,
 * and only their history is read, from what the console store last said.
 */
export async function listContexts(
  scope: Pick<OperationsScope, 'store'> & { statusIndex: VolumeStatusIndex },
  visibility: { key: string; visible: (context: VolumeContext) => boolean },
  request: ContextListingRequest = {},
): Promise<ContextListing> {
  const statuses = await scope.statusIndex.statuses();
  const search = request.search?.trim().toLowerCase() ?? '';
  const pageSize = request.pageSize ?? CONTEXT_PAGE_SIZE;
  const page = Math.max(1, request.page ?? 1);
  const ordered = () =>
    statuses.reuse(`contexts\u0000${visibility.key}\u0000${request.status ?? ''}\u0000${search}`, (stateOf) =>
      orderContexts(statuses.scan.contexts, visibility.visible, stateOf, search, request.status),
    );
  let shown = ordered().matching.slice((page - 1) * pageSize, page * pageSize);
  let states = shown.map((context) => statuses.stateOf(context));
  if (!statuses.current) {
    // What is shown is checked now (or by a request less than SHOWN_CHECK_SHARED_MS earlier); if that changed a status, the page is worked out again.
    const checked = shown.map((context) => compositeState(context, SHOWN_CHECK_SHARED_MS));
    statuses.noteChecked(checked);
    if (checked.some((state, index) => state.status !== states[index].status)) {
      shown = ordered().matching.slice((page - 1) * pageSize, page * pageSize);
      states = shown.map((context) => statuses.stateOf(context));
    } else {
      states = checked;
    }
  }
  const { matching, counts } = ordered();
  const latestRuns = latestRunsReader(scope.store);
  return {
    contexts: shown.map((context, index) => {
      const { regeneration, health } = latestRuns(context.name);
      return summarize(context, regeneration, health, states[index]);
    }),
    total: matching.length,
    counts,
    invalid: statuses.scan.invalid,
    checkedAt: statuses.checkedAt,
    checkedNow: statuses.current,
  };
}

/** Which contexts a user's lists show, with the key under which users who see the same share what is worked out of them. */
export function contextsVisibleTo(user: SessionUser): { key: string; visible: (context: VolumeContext) => boolean } {
  return { key: contextVisibilityKey(user), visible: (context) => canSeeContext(user, context.name) };
}

/** One page of the contexts a user may see; folders that are not contexts only for those whose gate opens them. */
export async function listContextsFor(scope: Parameters<typeof listContexts>[0], user: SessionUser, request: ContextListingRequest): Promise<ContextListing> {
  const listing = await listContexts(scope, contextsVisibleTo(user), request);
  return mayOpen(user, 'see-invalid-folders') ? listing : { ...listing, invalid: [] };
}

/** Reads `?q=`, `?status=` and `?page=` of a contexts list, refusing values that mean nothing. */
export function parseContextListingRequest(params: URLSearchParams): ContextListingRequest {
  const status = params.get('status') || undefined;
  if (status !== undefined && !STATUS_ORDER.includes(status as CompositeStatus)) {
    throw new RequestError('bad_status', `status must be one of ${STATUS_ORDER.join(', ')}, got "${status}".`);
  }
  const pageText = params.get('page');
  const page = pageText === null || pageText === '' ? 1 : Number(pageText);
  if (!Number.isInteger(page) || page < 1) throw new RequestError('bad_page', `page must be a whole number from 1, got "${pageText}".`);
  return { search: params.get('q') ?? undefined, status: status as CompositeStatus | undefined, page };
}
