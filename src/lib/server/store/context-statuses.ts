import type { CompositeState, CompositeStatus } from '../composite/status.ts';
import type { ConsoleStore } from './database.ts';

/** A context's composite status as the last check of the volume found it. */
export interface PersistedStatus {
  status: CompositeStatus;
  reasons: string[];
  checkedAt: string;
}

export function persistedContextStatuses(db: ConsoleStore): Map<string, PersistedStatus> {
  const rows = db.prepare('SELECT context, status, reasons, checked_at FROM context_statuses').all() as Array<{ context: string; status: CompositeStatus; reasons: string; checked_at: string }>;
  return new Map(rows.map((row) => [row.context, { status: row.status, reasons: JSON.parse(row.reasons) as string[], checkedAt: row.checked_at }]));
}

/**
 * Keeps the statuses of a whole check, in one transaction: a changed status is written,
 * an unchanged one only has its time moved, and contexts no longer in the volume are
 * dropped. Thousands of rows are a few tens of milliseconds, once per check.
 */
export function persistContextStatuses(db: ConsoleStore, states: CompositeState[], checkedAt: Date): void {
  const at = checkedAt.toISOString();
  const upsert = db.prepare(
    'INSERT INTO context_statuses (context, status, reasons, checked_at) VALUES (?, ?, ?, ?) ON CONFLICT (context) DO UPDATE SET status = excluded.status, reasons = excluded.reasons, checked_at = excluded.checked_at',
  );
  db.transaction(() => {
    for (const state of states) upsert.run(state.context, state.status, JSON.stringify(state.reasons), at);
    db.prepare('DELETE FROM context_statuses WHERE checked_at <> ?').run(at);
  }).immediate();
}
