import type { SessionUser } from '../auth/access.ts';
import { contextActionRoute, refusalFor, type ContextAction } from '../auth/routes.ts';
import { problemOf } from '../core/errors.ts';
import { formatTime } from '../core/format.ts';
import type { CompositeProblem } from '../composite/plan.ts';
import type { HealthReport } from '../composite/health.ts';
import type { RegenerationResult } from '../composite/regenerate.ts';
import { resolveContext, type VolumeContext } from '../volume/contexts.ts';
import { regenerateContextOnWorker, regenerationFailureMessage, runHealthCheckOnWorker, summarizeContext, type ContextSummary } from './operations.ts';
import type { ConsoleRuntime } from './runtime.ts';

/**
 * The actions on one context (regenerate, run a health check), shared by their API
 * endpoints and the contexts page's forms, so both run, record and answer them alike.
 */
export type ContextActionResult =
  | { action: 'regenerate'; result: RegenerationResult; summary: ContextSummary }
  | { action: 'health'; report: HealthReport; summary: ContextSummary };

/**
 * Runs an action on a context for `actor`, whom its gate let through, and reads the
 * context's summary after it. Both run on a worker thread, so parsing and planning
 * composite.sql, waiting for another regeneration's lock and reading every page of every
 * database for a health check never hold up other requests.
 */
export async function runContextAction<A extends ContextAction>(
  runtime: ConsoleRuntime,
  actor: string,
  action: A,
  context: VolumeContext,
  options: { full?: boolean } = {},
): Promise<Extract<ContextActionResult, { action: A }>> {
  const scope = runtime.scopeFor(actor);
  const answer: ContextActionResult =
    action === 'regenerate'
      ? { action: 'regenerate', result: await regenerateContextOnWorker(scope, context.name), summary: summarizeContext(runtime, context) }
      : { action: 'health', report: await runHealthCheckOnWorker(scope, context.name, { full: options.full ?? false }), summary: summarizeContext(runtime, context) };
  return answer as Extract<ContextActionResult, { action: A }>;
}

/** What the contexts page shows beside a context after an action, and the status the page answers with. */
export interface ContextActionOutcome {
  /** The context the form named; empty when the outcome is about the page rather than a row. */
  context: string;
  ok: boolean;
  status: number;
  message: string;
  problems: CompositeProblem[];
}

function outcomeOf(context: string, answer: ContextActionResult): ContextActionOutcome {
  if (answer.action === 'health') {
    return { context, ok: answer.report.worstSeverity !== 'error', status: 200, message: `Health: ${answer.report.worstSeverity}.`, problems: [] };
  }
  const { result } = answer;
  return result.ok
    ? { context, ok: true, status: 200, message: `Regenerated at ${formatTime(result.manifest.generatedAt)}.`, problems: [] }
    : { context, ok: false, status: 200, message: regenerationFailureMessage(result), problems: result.problems };
}

/**
 * A form of the contexts page (fields `action` and `context`), which works without
 * JavaScript: judged by the route table exactly as the action's endpoint is, then run.
 * A refused or unknown action is one message; a problem the action met is shown in the row.
 */
export async function submitContextActionForm(runtime: ConsoleRuntime, user: SessionUser, form: FormData): Promise<ContextActionOutcome> {
  const action = String(form.get('action') ?? '');
  const contextName = String(form.get('context') ?? '');
  if (refusalFor(user, contextActionRoute(action, contextName))) {
    return { context: contextName, ok: false, status: 400, message: 'That action is not available for that context.', problems: [] };
  }
  try {
    return outcomeOf(contextName, await runContextAction(runtime, user.username, action as ContextAction, resolveContext(runtime.volumeDir, contextName)));
  } catch (error) {
    const problem = problemOf(error);
    if (!problem) throw error;
    return { context: contextName, ok: false, status: problem.status, message: problem.publicMessage, problems: [] };
  }
}
