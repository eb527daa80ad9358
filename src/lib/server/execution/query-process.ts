import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { connectComposite, sqliteAsProblem } from '../composite/connect.ts';
import { problemData, type ProblemData } from '../core/errors.ts';
import { assertReadOnlyQuery } from '../query/guard.ts';
import { explainQueryPlan, jsonRow, runRead, type PlanStep, type ReadResult } from '../query/run.ts';
import { resolveObject } from '../query/objects.ts';
import { exportRows, parseBrowseRequest } from '../query/browse.ts';
import { csvText } from './csv.ts';

/**
 * A process of its own for each query that may run long (ad-hoc SQL, exports): the console
 * kills the process when a deadline passes, the one way to stop a running SQLite statement
 * in this build, and the server's event loop never waits on it.
 */

/** What the console asks a query process to run; plain data over IPC. */
export interface AdhocTask {
  kind: 'adhoc';
  volumeDir: string;
  context: string;
  sql: string;
  /** Also return EXPLAIN QUERY PLAN of the statement. */
  explain: boolean;
  rowCap: number;
  byteCap: number;
  /** How long it waits for a writer's lock (busyWaitWithin its deadline), whatever composite.sql sets: then 503 database_busy. */
  busyTimeoutMs: number;
}

export type AdhocOutcome = { ok: true; result: ReadResult; plan: PlanStep[] | null } | { ok: false; problem: ProblemData };

export type ExportFormat = 'csv' | 'json';

/** Every row of a browse listing (its filters and sort), as CSV or a JSON array. */
export interface ExportTask {
  kind: 'export';
  volumeDir: string;
  context: string;
  object: string;
  /** The listing's query string: filters, `_sort`, `_desc`. */
  params: string;
  format: ExportFormat;
  maxPageSize: number;
  /** As AdhocTask's. */
  busyTimeoutMs: number;
}

/** The export's answers, one at a time: the console asks for each next chunk (`{ more: true }`), so a slow download slows the reading. */
export type ExportMessage = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' } | { type: 'problem'; problem: ProblemData };

const ROWS_PER_CHUNK = 1000;

/** Runs one ad-hoc statement in this process, which exists only for it. */
export function runAdhocTask(task: AdhocTask): AdhocOutcome {
  try {
    assertReadOnlyQuery(task.sql, { allowExplain: true });
    const context = resolveContext(task.volumeDir, task.context);
    const { db } = connectComposite(context.name, context.dir, autoDbPath(context), { busyTimeoutMs: task.busyTimeoutMs });
    const plan = task.explain && !/^\s*explain\b/i.test(task.sql) ? explainQueryPlan(db, task.sql) : null;
    const result = runRead(db, task.sql, [], { rowCap: task.rowCap, byteCap: task.byteCap });
    db.close();
    return { ok: true, result, plan };
  } catch (error) {
    return { ok: false, problem: problemData(sqliteAsProblem(error)) };
  }
}

/** The export as text chunks of ROWS_PER_CHUNK rows; reading stops when the caller stops asking. */
function* exportChunks(task: ExportTask): Generator<string> {
  const context = resolveContext(task.volumeDir, task.context);
  const { db } = connectComposite(context.name, context.dir, autoDbPath(context), { busyTimeoutMs: task.busyTimeoutMs });
  try {
    const object = resolveObject(db, task.object);
    const request = parseBrowseRequest(new URLSearchParams(task.params), object, task.maxPageSize, db);
    const { columns, rows } = exportRows(db, object, request);
    let batch: Record<string, unknown>[] = [];
    let first = true;
    const render = (last: boolean): string => {
      let text: string;
      if (task.format === 'csv') {
        text = csvText(batch, columns, first);
      } else {
        const items = batch.map((row) => JSON.stringify(jsonRow(row))).join(',\n');
        text = `${first ? '[\n' : items ? ',\n' : ''}${items}${last ? '\n]\n' : ''}`;
      }
      first = false;
      batch = [];
      return text;
    };
    for (const row of rows) {
      batch.push(row as Record<string, unknown>);
      if (batch.length === ROWS_PER_CHUNK) yield render(false);
    }
    yield render(true);
  } finally {
    db.close();
  }
}

function nextRequest(): Promise<void> {
  return new Promise((resolve) => process.once('message', () => resolve()));
}

async function runExportTask(task: ExportTask): Promise<void> {
  try {
    for (const text of exportChunks(task)) {
      process.send!({ type: 'chunk', bytes: Buffer.from(text) } satisfies ExportMessage);
      await nextRequest();
    }
    process.send!({ type: 'end' } satisfies ExportMessage);
  } catch (error) {
    process.send!({ type: 'problem', problem: problemData(sqliteAsProblem(error)) } satisfies ExportMessage);
  }
}

process.once('message', (task: AdhocTask | ExportTask) => {
  if (task.kind === 'export') {
    void runExportTask(task).then(() => process.disconnect());
  } else {
    process.send!(runAdhocTask(task), () => process.exit(0));
  }
});
// A server that stopped while this process loaded has closed the channel already.
if (process.connected) process.send!({ ready: true });
