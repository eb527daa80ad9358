import { isDiskFull, type ConsoleStore } from './database.ts';
import { recordAudit } from './audit.ts';
import { ProblemError } from '../core/errors.ts';

export type SavedViewKind = 'browse' | 'sql';

export interface SavedView {
  id: number;
  context: string;
  ownerId: string;
  ownerName: string;
  name: string;
  description: string;
  kind: SavedViewKind;
  /** `objects/<object>?<query>` relative to the context's path, or the SQL statement. */
  target: string;
  shared: boolean;
  createdAt: string;
}

/** A save the user got wrong; says which field and what to write. */
export class SavedViewInputError extends ProblemError {
  constructor(message: string) {
    super('bad_saved_view', message, 400);
  }
}

export const MAX_NAME = 100;
/** Most views one user keeps on one context, so what a user may save, and every page that lists them, stays bounded. */
export const MAX_VIEWS_PER_OWNER = 200;
export const MAX_DESCRIPTION = 2000;
const MAX_TARGET = 20_000;

interface Row {
  id: number;
  context: string;
  owner_id: string;
  owner_name: string;
  name: string;
  description: string;
  kind: SavedViewKind;
  target: string;
  shared: number;
  created_at: string;
}

const SELECT = `SELECT v.id, v.context, v.owner_id, u.username AS owner_name, v.name, v.description, v.kind, v.target, v.shared, v.created_at
  FROM saved_views AS v JOIN users AS u ON u.id = v.owner_id`;

function toView(row: Row): SavedView {
  return {
    id: row.id,
    context: row.context,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    name: row.name,
    description: row.description,
    kind: row.kind,
    target: row.target,
    shared: row.shared === 1,
    createdAt: row.created_at,
  };
}

export interface NewSavedView {
  context: string;
  owner: { id: string; username: string };
  name: unknown;
  description: unknown;
  kind: unknown;
  target: unknown;
  shared: unknown;
}

function text(value: unknown, field: string, max: number, required: boolean): string {
  if (value === undefined || value === null) value = '';
  if (typeof value !== 'string') throw new SavedViewInputError(`Give ${field} as text.`);
  const trimmed = value.trim();
  if (required && trimmed === '') throw new SavedViewInputError(`Give the saved view a ${field}.`);
  if (trimmed.length > max) throw new SavedViewInputError(`The ${field} is ${trimmed.length} characters long; keep it to ${max}.`);
  return trimmed;
}

/**
 * A browse target must be one of the context's own object pages, written relative to the
 * context, so a saved view can only ever lead back into the context it was saved on.
 */
function browseTarget(value: string): string {
  const refused = () => new SavedViewInputError('A saved browse view is a page of this context: objects/<table or view>?<filters>, as its URL shows after the context.');
  const match = /^objects\/([^/?#\\]+)(\?[^#]*)?$/.exec(value);
  if (!match) throw refused();
  let object: string;
  try {
    object = decodeURIComponent(match[1]);
  } catch {
    throw refused();
  }
  // Browsers read a backslash as a slash and resolve dot segments: either could lead out of the context.
  if (object === '.' || object === '..' || /[/\\]/.test(object)) throw refused();
  return value;
}

/**
 * Stores a view and audits the save, whether it worked or not. The view and its audit event
 * are one IMMEDIATE transaction: a view is never kept without the event that says who saved
 * it (nor reported as failed while it was kept), and the save costs one commit, not two.
 */
export function saveView(db: ConsoleStore, input: NewSavedView): SavedView {
  try {
    const name = text(input.name, 'name', MAX_NAME, true);
    const description = text(input.description, 'description', MAX_DESCRIPTION, false);
    if (input.kind !== 'browse' && input.kind !== 'sql') throw new SavedViewInputError('kind must be "browse" (a page of rows) or "sql" (a statement).');
    const kind = input.kind;
    const raw = text(input.target, kind === 'sql' ? 'statement' : 'target', MAX_TARGET, true);
    const target = kind === 'browse' ? browseTarget(raw) : raw;
    const shared = input.shared === true || input.shared === 'on' || input.shared === '1' || input.shared === 'true';
    return db.transaction(() => {
      const kept = db.prepare('SELECT count(*) FROM saved_views WHERE context = ? AND owner_id = ?').pluck().get(input.context, input.owner.id) as number;
      if (kept >= MAX_VIEWS_PER_OWNER) {
        throw new SavedViewInputError(`You keep ${kept} views on ${input.context}, the most one user may; delete one you no longer need (DELETE /api/<context>/views/<id>) before saving another.`);
      }
      const { id } = db
        .prepare('INSERT INTO saved_views (context, owner_id, name, description, kind, target, shared, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id')
        .get(input.context, input.owner.id, name, description, kind, target, shared ? 1 : 0, new Date().toISOString()) as { id: number };
      recordAudit(db, { actor: input.owner.username, action: 'view.save', target: input.context, outcome: 'ok', detail: { id, name, kind, shared } });
      return getViewById(db, id)!;
    }).immediate();
  } catch (error) {
    // A store that would not take the save (locked past its busy timeout, full) would not take
    // its audit event either: trying would wait once more, then hide why the save failed.
    if (!storeRefusedWrite(error)) recordAudit(db, { actor: input.owner.username, action: 'view.save', target: input.context, outcome: 'error', detail: { error: (error as Error).message } });
    throw error;
  }
}

function storeRefusedWrite(error: unknown): boolean {
  return isDiskFull(error) || String((error as { code?: unknown } | null)?.code).startsWith('SQLITE_BUSY');
}

/**
 * Deletes a view of `context` its owner saved, with an audit event in the same transaction;
 * false when there is no such view of theirs (another's, or on another context).
 */
export function deleteView(db: ConsoleStore, context: string, owner: { id: string; username: string }, id: number): boolean {
  return db.transaction(() => {
    const deleted = db.prepare('DELETE FROM saved_views WHERE id = ? AND context = ? AND owner_id = ? RETURNING name').get(id, context, owner.id) as { name: string } | undefined;
    if (deleted) recordAudit(db, { actor: owner.username, action: 'view.delete', target: context, outcome: 'ok', detail: { id, name: deleted.name } });
    return deleted !== undefined;
  }).immediate();
}

function getViewById(db: ConsoleStore, id: number): SavedView | null {
  const row = db.prepare(`${SELECT} WHERE v.id = ?`).get(id) as Row | undefined;
  return row ? toView(row) : null;
}

/** The context's views the user may see: shared ones and their own, by name. */
export function listViews(db: ConsoleStore, context: string, userId: string): SavedView[] {
  return (db.prepare(`${SELECT} WHERE v.context = ? AND (v.shared = 1 OR v.owner_id = ?) ORDER BY v.name COLLATE NOCASE, v.id`).all(context, userId) as Row[]).map(toView);
}

/** A view of this context the user may see, or null: one saved on another context, or private to someone else, is not there. */
export function findView(db: ConsoleStore, context: string, userId: string, id: number): SavedView | null {
  const row = db.prepare(`${SELECT} WHERE v.id = ? AND v.context = ? AND (v.shared = 1 OR v.owner_id = ?)`).get(id, context, userId) as Row | undefined;
  return row ? toView(row) : null;
}
