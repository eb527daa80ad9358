import type { ConsoleStore } from './database.ts';

export type AuditOutcome = 'ok' | 'error' | 'denied';

export interface NewAuditEvent {
  /** User name of who acted, or `cli` / `system` for actions nobody signed in took. */
  actor: string;
  /** What was done, as a stable dotted name: `user.create`, `composite.regenerate`. */
  action: string;
  /** What it was done to: a user name, a context name; null when nothing in particular. */
  target: string | null;
  outcome: AuditOutcome;
  /** Anything worth keeping about it; never a password or a session token. */
  detail?: Record<string, unknown> | null;
  /** Defaults to now. */
  at?: Date;
}

export interface AuditEvent extends Omit<NewAuditEvent, 'at' | 'detail'> {
  id: number;
  /** ISO 8601, UTC. */
  at: string;
  detail: Record<string, unknown> | null;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  detail: string | null;
}

/** Most events one page of the audit log shows. */
export const MAX_AUDIT_PAGE = 500;

const COLUMNS = 'id, at, actor, action, target, outcome, detail';

function toEvent(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  };
}

export function recordAudit(db: ConsoleStore, event: NewAuditEvent): AuditEvent {
  const row = db
    .prepare(`INSERT INTO audit_events (at, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`)
    .get(
      (event.at ?? new Date()).toISOString(),
      event.actor,
      event.action,
      event.target,
      event.outcome,
      event.detail == null ? null : JSON.stringify(event.detail),
    ) as AuditRow;
  return toEvent(row);
}

export interface AuditPage {
  /** Clamped to 1..MAX_AUDIT_PAGE. */
  limit: number;
  /** Only events older than this event id: pass the last id of the previous page. */
  before?: number;
}

/** Newest first, in recording order (ids only grow). */
export function listAudit(db: ConsoleStore, page: AuditPage): AuditEvent[] {
  const limit = Number.isFinite(page.limit) ? Math.min(MAX_AUDIT_PAGE, Math.max(1, Math.floor(page.limit))) : MAX_AUDIT_PAGE;
  const rows = (
    page.before === undefined
      ? db.prepare(`SELECT ${COLUMNS} FROM audit_events ORDER BY id DESC LIMIT ?`).all(limit)
      : db.prepare(`SELECT ${COLUMNS} FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT ?`).all(page.before, limit)
  ) as AuditRow[];
  return rows.map(toEvent);
}
