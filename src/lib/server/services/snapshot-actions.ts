import type { SessionUser } from '../auth/access.ts';
import { classifyRoute, mayOpen, refusalFor } from '../auth/routes.ts';
import { problemOf } from '../core/errors.ts';
import { regenerationFailureMessage } from './operations.ts';
import type { ConsoleRuntime } from './runtime.ts';
import { assertRestoreConfirmed, listSnapshots, restoreSnapshot, takeSnapshot, verifySnapshot, type SnapshotManifest, type SnapshotSummary } from './snapshots.ts';

/**
 * The snapshot actions of a context (take, verify, restore), shared by their API endpoints
 * and the context page's forms, so both run, audit and word them alike. Each answer has a
 * `message` a page shows as it is.
 */
export type SnapshotAction = 'create' | 'verify' | 'restore';

export type SnapshotActionAnswer =
  | { message: string; snapshot: SnapshotManifest; pruned: string[] }
  | { message: string; verification: { ok: boolean; problems: string[] } }
  | { message: string; preRestoreSnapshot: string; files: string[]; regenerated: boolean; regenerationProblem: string | null };

/** Runs a snapshot action on a context for `actor`, whom the 'manage-snapshots' gate let through. */
export async function runSnapshotAction(runtime: ConsoleRuntime, actor: string, contextName: string, action: SnapshotAction, id = '', confirmation: unknown = null): Promise<SnapshotActionAnswer> {
  const scope = runtime.snapshotScopeFor(actor);
  switch (action) {
    case 'create': {
      const { snapshot, pruned } = await takeSnapshot(scope, contextName);
      return { message: `Snapshot ${snapshot.id} taken.`, snapshot, pruned };
    }
    case 'verify': {
      const verification = await verifySnapshot(scope, id, contextName);
      const message = verification.ok ? 'Snapshot verified: digests and integrity check pass.' : `Snapshot damaged: ${verification.problems.join('; ')}`;
      return { message, verification: { ok: verification.ok, problems: verification.problems } };
    }
    case 'restore': {
      assertRestoreConfirmed(contextName, confirmation);
      const { regeneration, preRestoreSnapshot, files } = await restoreSnapshot(scope, id, contextName);
      const regenerationProblem = regeneration.ok ? null : regenerationFailureMessage(regeneration);
      const message = `Restored; the replaced databases were kept as snapshot ${preRestoreSnapshot}.${regenerationProblem ? ` ${regenerationProblem}` : ''}`;
      return { message, preRestoreSnapshot, files, regenerated: regeneration.ok, regenerationProblem };
    }
  }
}

/** What the context page shows after a snapshot form, the status it answers with, and a restore still to be confirmed. */
export interface SnapshotFormOutcome {
  ok: boolean;
  status: number;
  message: string;
  /** A restore asked for without its confirmation: the page asks for it. */
  confirmRestore: string | null;
}

const SNAPSHOT_ACTIONS: readonly string[] = ['create', 'verify', 'restore'] satisfies SnapshotAction[];

/**
 * A snapshot form of the context page (fields `snapshot-action`, `snapshot`, `confirm`),
 * which works without JavaScript: judged by the route table exactly as the endpoints are,
 * then run. A restore without its confirmation is asked for again, with nothing changed.
 * Null when the form is not a snapshot form.
 */
export async function submitSnapshotForm(runtime: ConsoleRuntime, user: SessionUser, contextName: string, form: FormData): Promise<SnapshotFormOutcome | null> {
  const action = String(form.get('snapshot-action') ?? '');
  if (!action) return null;
  const id = String(form.get('snapshot') ?? '');
  if (!SNAPSHOT_ACTIONS.includes(action) || refusalFor(user, classifyRoute(`/api/admin/contexts/${contextName}/snapshots`))) {
    return { ok: false, status: 400, message: 'That action is not available for that context.', confirmRestore: null };
  }
  const confirmation = form.get('confirm');
  if (action === 'restore' && confirmation !== contextName) {
    return { ok: true, status: 200, message: `Restoring replaces the databases of ${contextName} (a snapshot of them is taken first, so it can be undone). Confirm below.`, confirmRestore: id };
  }
  try {
    const answer = await runSnapshotAction(runtime, user.username, contextName, action as SnapshotAction, id, confirmation);
    return { ok: !('verification' in answer) || answer.verification.ok, status: 200, message: answer.message, confirmRestore: null };
  } catch (error) {
    const problem = problemOf(error);
    if (!problem) throw error;
    return { ok: false, status: problem.status, message: problem.publicMessage, confirmRestore: null };
  }
}

/** The snapshots panel of a context page: the context's snapshots for those the 'manage-snapshots' gate opens to, null for anyone else. */
export function snapshotsPanel(runtime: ConsoleRuntime, user: SessionUser, contextName: string): SnapshotSummary[] | null {
  return mayOpen(user, 'manage-snapshots') ? listSnapshots(runtime.snapshotScopeFor(user.username), contextName) : null;
}
