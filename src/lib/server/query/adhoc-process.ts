import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { connectComposite } from '../composite/connect.ts';
import { describeProblem, type ProblemDescription } from '../http.ts';
import { assertReadOnlyQuery } from './guard.ts';
import { runRead, type ReadResult } from './run.ts';

/** What the console asks a query process to run; plain data over IPC. */
export interface AdhocTask {
  volumeDir: string;
  context: string;
  sql: string;
  /** Also return EXPLAIN QUERY PLAN of the statement. */
  explain: boolean;
  rowCap: number;
  byteCap: number;
}

export interface QueryPlanStep {
  id: number;
  parent: number;
  detail: string;
}

export type AdhocOutcome = { ok: true; result: ReadResult; plan: QueryPlanStep[] | null } | { ok: false; problem: ProblemDescription };

/**
 * Runs one ad-hoc statement in this process, which exists only for it: the console kills
 * the process when the deadline passes, the one way to stop a running SQLite statement in
 * this build.
 */
export function runAdhocTask(task: AdhocTask): AdhocOutcome {
  try {
    assertReadOnlyQuery(task.sql, { allowExplain: true });
    const context = resolveContext(task.volumeDir, task.context);
    const { db } = connectComposite(context.name, context.dir, autoDbPath(context));
    const plan = task.explain && !/^\s*explain\b/i.test(task.sql) ? (db.prepare(`EXPLAIN QUERY PLAN ${task.sql}`).all() as QueryPlanStep[]) : null;
    const result = runRead(db, task.sql, [], { rowCap: task.rowCap, byteCap: task.byteCap });
    db.close();
    return { ok: true, result, plan: plan?.map(({ id, parent, detail }) => ({ id, parent, detail })) ?? null };
  } catch (error) {
    return { ok: false, problem: describeProblem(error) ?? { status: 500, code: 'internal_error', message: (error as Error).message } };
  }
}

process.once('message', (task: AdhocTask) => {
  process.send!(runAdhocTask(task), () => process.exit(0));
});
process.send?.({ ready: true });
