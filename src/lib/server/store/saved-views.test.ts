import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from './database.ts';
import { deleteView, listViews, MAX_VIEWS_PER_OWNER, saveView } from './saved-views.ts';

let stateDir: string;
let db: ConsoleStore;
const owner = { id: 'u1', username: 'alice' };
const input = { context: 'tenant/a', owner, name: 'Open items', description: '', kind: 'browse', target: 'objects/items?status=open', shared: false };

beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-saved-views-'));
  db = openConsoleStore(stateDir);
  const at = new Date().toISOString();
  db.prepare("INSERT INTO users (id, username, password_hash, role, created_at, updated_at) VALUES (?, ?, 'x', 'tenant', ?, ?)").run(owner.id, owner.username, at, at);
});
afterEach(() => {
  db.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('saving a view', () => {
  it('keeps the view with an audit event naming who saved it', () => {
    const saved = saveView(db, input);
    expect(listViews(db, 'tenant/a', owner.id)).toEqual([saved]);
    const events = db.prepare("SELECT actor, outcome, detail FROM audit_events WHERE action = 'view.save'").all() as Array<{ actor: string; outcome: string; detail: string }>;
    expect(events).toEqual([{ actor: 'alice', outcome: 'ok', detail: JSON.stringify({ id: saved.id, name: 'Open items', kind: 'browse', shared: false }) }]);
  });

  it('refuses a save past the most views one user keeps on a context, saying to delete one; other contexts are apart', () => {
    for (let n = 0; n < MAX_VIEWS_PER_OWNER; n++) saveView(db, { ...input, name: `View ${n}` });
    expect(() => saveView(db, { ...input, name: 'One more' })).toThrow(/the most one user may; delete one/);
    expect(listViews(db, 'tenant/a', owner.id)).toHaveLength(MAX_VIEWS_PER_OWNER);
    expect(saveView(db, { ...input, context: 'tenant/b', name: 'Elsewhere' }).name).toBe('Elsewhere');
  });

  it("deletes a view for its owner only, on its own context, with an audit event", () => {
    const saved = saveView(db, { ...input, shared: true });
    expect(deleteView(db, 'tenant/a', { id: 'someone-else', username: 'bob' }, saved.id)).toBe(false);
    expect(deleteView(db, 'tenant/b', owner, saved.id)).toBe(false);
    expect(listViews(db, 'tenant/a', owner.id)).toEqual([saved]);
    expect(deleteView(db, 'tenant/a', owner, saved.id)).toBe(true);
    expect(listViews(db, 'tenant/a', owner.id)).toEqual([]);
    expect(db.prepare("SELECT actor, outcome FROM audit_events WHERE action = 'view.delete'").all()).toEqual([{ actor: 'alice', outcome: 'ok' }]);
  });

  it('keeps no view when its audit event cannot be written, and says the save failed', () => {
    db.exec("CREATE TEMP TRIGGER refuse_saved_audit BEFORE INSERT ON audit_events WHEN NEW.outcome = 'ok' BEGIN SELECT RAISE(ABORT, 'audit refused'); END");
    expect(() => saveView(db, input)).toThrow('audit refused');
    expect(listViews(db, 'tenant/a', owner.id)).toEqual([]);
    expect(db.prepare("SELECT outcome FROM audit_events WHERE action = 'view.save'").pluck().all()).toEqual(['error']);
  });
});
