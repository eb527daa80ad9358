import type { CompositeProblem } from '../composite/plan.ts';
import type { ConsoleStore } from './database.ts';
import { keptStatement } from '../sqlite/statements.ts';

export interface NewRegeneration {
  context: string;
  startedAt: Date;
  finishedAt: Date;
  outcome: 'ok' | 'error';
  /** sha256 (hex) of the composite.sql that was read, when it could be read. */
  sourceSha256: string | null;
  problems: CompositeProblem[];
  /** User name, `cli` or `system`. */
  actor: string;
}

export interface RegenerationRecord extends Omit<NewRegeneration, 'startedAt' | 'finishedAt'> {
  id: number;
  /** ISO 8601, UTC. */
  startedAt: string;
  finishedAt: string;
}

interface RegenerationRow {
  id: number;
  context: string;
  started_at: string;
  finished_at: string;
  outcome: 'ok' | 'error';
  source_sha256: string | null;
  problems: string;
  actor: string;
}

const COLUMNS = 'id, context, started_at, finished_at, outcome, source_sha256, problems, actor';
/** Latest first: by when it finished, then by insertion for records of the same instant. */
const NEWEST_FIRST = 'finished_at DESC, id DESC';

function toRecord(row: RegenerationRow): RegenerationRecord {
  return {
    id: row.id,
    context: row.context,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    outcome: row.outcome,
    sourceSha256: row.source_sha256,
    problems: JSON.parse(row.problems) as CompositeProblem[],
    actor: row.actor,
  };
}

export function recordRegeneration(db: ConsoleStore, record: NewRegeneration): RegenerationRecord {
  const row = db
    .prepare(
      `INSERT INTO regenerations (context, started_at, finished_at, outcome, source_sha256, problems, actor)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      record.context,
      record.startedAt.toISOString(),
      record.finishedAt.toISOString(),
      record.outcome,
      record.sourceSha256,
      JSON.stringify(record.problems),
      record.actor,
    ) as RegenerationRow;
  return toRecord(row);
}

export function latestRegeneration(db: ConsoleStore, context: string): RegenerationRecord | null {
  const row = keptStatement(db, `SELECT ${COLUMNS} FROM regenerations WHERE context = ? ORDER BY ${NEWEST_FIRST} LIMIT 1`).get(context) as
    | RegenerationRow
    | undefined;
  return row ? toRecord(row) : null;
}

/** The latest regeneration of every context that has one, keyed by context name. */
export function latestRegenerations(db: ConsoleStore): Map<string, RegenerationRecord> {
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM (
         SELECT *, row_number() OVER (PARTITION BY context ORDER BY ${NEWEST_FIRST}) AS rank FROM regenerations
       ) WHERE rank = 1 ORDER BY context`,
    )
    .all() as RegenerationRow[];
  return new Map(rows.map((row) => [row.context, toRecord(row)]));
}

/** Newest first. */
export function regenerationHistory(db: ConsoleStore, context: string, limit: number): RegenerationRecord[] {
  const rows = keptStatement(db, `SELECT ${COLUMNS} FROM regenerations WHERE context = ? ORDER BY ${NEWEST_FIRST} LIMIT ?`)
    .all(context, limit) as RegenerationRow[];
  return rows.map(toRecord);
}
