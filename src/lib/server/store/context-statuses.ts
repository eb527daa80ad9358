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

/** Rows written per transaction: a few milliseconds each, so the event loop is never held for long. */
const BATCH = 500;

/**
 * Keeps the statuses of a whole check: every context's status with the check's time, in
 * transactions of BATCH rows with a turn of the event loop between them (ten thousand
 * rows in one would hold it for a tenth of a second), then drops contexts no longer in
 * the volume. A crash midway leaves some rows with the previous check's time, which the
 * next check replaces.
 */
export async function persistContextStatuses(db: ConsoleStore, states: CompositeState[], checkedAt: Date, nextTurn: () => Promise<void>): Promise<void> {
  const at = checkedAt.toISOString();
  const upsert = db.prepare(
    'INSERT INTO context_statuses (context, status, reasons, checked_at) VALUES (?, ?, ?, ?) ON CONFLICT (context) DO UPDATE SET status = excluded.status, reasons = excluded.reasons, checked_at = excluded.checked_at',
  );
  for (let from = 0; from < states.length; from += BATCH) {
    db.transaction(() => {
      for (const state of states.slice(from, from + BATCH)) upsert.run(state.context, state.status, JSON.stringify(state.reasons), at);
    }).immediate();
    await nextTurn();
  }
  db.prepare('DELETE FROM context_statuses WHERE checked_at <> ?').run(at);
}
