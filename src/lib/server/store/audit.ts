import crypto from 'node:crypto';
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
  /** The hash of the event before this one (GENESIS_HASH for the first). */
  prevHash: string | null;
  /** SHA-256 of prevHash and this event's content: the link the next event points back to. */
  hash: string | null;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  detail: string | null;
  prev_hash: string | null;
  hash: string | null;
}

/** Most events one page of the audit log shows. */
export const MAX_AUDIT_PAGE = 500;

const COLUMNS = 'id, at, actor, action, target, outcome, detail, prev_hash, hash';

/** The `prev_hash` of the first event: there is nothing before it. */
export const GENESIS_HASH = '0'.repeat(64);

function toEvent(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * The link of one event: SHA-256 over the previous link and every stored column of the
 * event, id included, so an edited, removed, swapped or slipped-in row no longer matches.
 * The detail is hashed as the JSON text stored, never re-serialised.
 */
export function auditLink(prevHash: string, row: Omit<AuditRow, 'prev_hash' | 'hash'>): string {
  const content = JSON.stringify([row.id, row.at, row.actor, row.action, row.target, row.outcome, row.detail]);
  return crypto.createHash('sha256').update(`${prevHash}\n${content}`).digest('hex');
}

/**
 * Appends an event to the chain. The previous link is read and the new row written in one
 * IMMEDIATE transaction (a savepoint inside a caller's transaction, which then must be
 * IMMEDIATE itself), so a server and a CLI recording at once can never both link to the
 * same event: the second waits for the first to commit.
 */
export function recordAudit(db: ConsoleStore, event: NewAuditEvent): AuditEvent {
  const append = () => {
    const last = db.prepare('SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1').get() as { id: number; hash: string | null } | undefined;
    const row = {
      id: (last?.id ?? 0) + 1,
      at: (event.at ?? new Date()).toISOString(),
      actor: event.actor,
      action: event.action,
      target: event.target,
      outcome: event.outcome,
      detail: event.detail == null ? null : JSON.stringify(event.detail),
    };
    const prevHash = last?.hash ?? GENESIS_HASH;
    const stored = db
      .prepare(`INSERT INTO audit_events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`)
      .get(row.id, row.at, row.actor, row.action, row.target, row.outcome, row.detail, prevHash, auditLink(prevHash, row)) as AuditRow;
    return toEvent(stored);
  };
  return db.inTransaction ? db.transaction(append)() : db.transaction(append).immediate();
}

/** Links events recorded before the chain existed, in id order (migration 5). */
export function linkExistingAuditEvents(db: ConsoleStore): void {
  const update = db.prepare('UPDATE audit_events SET prev_hash = ?, hash = ? WHERE id = ?');
  let prevHash = GENESIS_HASH;
  for (const row of db.prepare('SELECT id, at, actor, action, target, outcome, detail FROM audit_events ORDER BY id').all() as AuditRow[]) {
    const hash = auditLink(prevHash, row);
    update.run(prevHash, hash, row.id);
    prevHash = hash;
  }
}

export interface AuditChainReport {
  ok: boolean;
  /** Events checked, in id order. */
  checked: number;
  /** The first event whose link does not hold, and why; null when the chain is intact. */
  brokenAt: { id: number; reason: string } | null;
}

/** Events verified between two turns of the event loop. */
const VERIFY_BATCH = 2_000;

/**
 * Walks the chain in id order and reports the first event whose link does not hold:
 * an edited event fails its own hash; after a deleted one, the next event points back to
 * a hash that is not its predecessor's; an event slipped in out of order points back to
 * the wrong event. It reads in batches and yields between them (`yieldEvery`), so a long
 * trail does not hold the event loop.
 */
export async function verifyAuditChain(db: ConsoleStore, yieldEvery: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve))): Promise<AuditChainReport> {
  const batch = db.prepare(`SELECT ${COLUMNS} FROM audit_events WHERE id > ? ORDER BY id LIMIT ${VERIFY_BATCH}`);
  let previous: { id: number; hash: string } | null = null;
  let checked = 0;
  for (;;) {
    const rows = batch.all(previous?.id ?? -1) as AuditRow[];
    if (rows.length === 0) return { ok: true, checked, brokenAt: null };
    for (const row of rows) {
      checked += 1;
      const expectedPrev = previous?.hash ?? GENESIS_HASH;
      const broken = (reason: string): AuditChainReport => ({ ok: false, checked, brokenAt: { id: row.id, reason } });
      if (row.prev_hash !== expectedPrev) {
        return broken(
          previous
            ? `event ${row.id} does not point back to event ${previous.id}: an event between them was deleted, or this one was inserted out of order`
            : `event ${row.id} is the first event but does not point back to the start of the trail: earlier events were deleted`,
        );
      }
      if (row.hash !== auditLink(expectedPrev, row)) return broken(`event ${row.id} was changed after it was recorded: its content no longer matches its hash`);
      previous = { id: row.id, hash: row.hash };
    }
    await yieldEvery();
  }
}

/** Every event in id order with its links, for `yard audit export --jsonl`. */
export function* auditTrail(db: ConsoleStore): Generator<AuditEvent> {
  for (const row of db.prepare(`SELECT ${COLUMNS} FROM audit_events ORDER BY id`).iterate() as IterableIterator<AuditRow>) yield toEvent(row);
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
