import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from './audit.ts';
import { CONSOLE_DB_FILE, ConsoleStoreError, LATEST_SCHEMA_VERSION, closeConsoleStore, getConsoleStore, openConsoleStore, type ConsoleStore } from './database.ts';

let tempDir: string;
const opened: ConsoleStore[] = [];

function open(stateDir = path.join(tempDir, 'state')): ConsoleStore {
  const db = openConsoleStore(stateDir);
  opened.push(db);
  return db;
}

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-store-'));
});

afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

function insertUser(db: ConsoleStore, id: string, username: string, role = 'operator'): void {
  db.prepare("INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) VALUES (?, ?, 'x', ?, 0, 'now', 'now')").run(id, username, role);
}

describe('opening the console database', () => {
  it('creates a missing state folder and the database file inside it', () => {
    const stateDir = path.join(tempDir, 'nested', 'state');
    open(stateDir);
    expect(fs.statSync(path.join(stateDir, CONSOLE_DB_FILE)).isFile()).toBe(true);
  });

  it('creates the database, its log and index readable by the owner only, even in a folder that existed', () => {
    const stateDir = path.join(tempDir, 'existing');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const db = open(stateDir);
    db.prepare("INSERT INTO audit_events (at, actor, action, outcome) VALUES ('now', 'test', 'probe', 'ok')").run();
    for (const name of [CONSOLE_DB_FILE, `${CONSOLE_DB_FILE}-wal`, `${CONSOLE_DB_FILE}-shm`]) {
      expect((fs.statSync(path.join(stateDir, name)).mode & 0o777).toString(8), name).toBe('600');
    }
  });

  it('warns when the state folder is open to other users, and not when it is private', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const open755 = path.join(tempDir, 'open');
      fs.mkdirSync(open755);
      fs.chmodSync(open755, 0o755);
      open(open755);
      const private700 = path.join(tempDir, 'private');
      fs.mkdirSync(private700, { mode: 0o700 });
      open(private700);
      // Node emits warnings on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([expect.stringMatching(/state folder .*open.* is open to other users of this machine \(mode 0755\).*chmod 700/)]);
  });

  it('uses WAL, synchronous FULL, foreign keys and a busy timeout', () => {
    const db = open();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('names the setting to change when the state folder cannot be used', () => {
    const blocker = path.join(tempDir, 'a-file');
    fs.writeFileSync(blocker, 'not a folder');
    expect(() => open(blocker)).toThrow(ConsoleStoreError);
    expect(() => open(blocker)).toThrow(/TRUTH_YARD_STATE_DIR/);
  });
});

describe('migrations', () => {
  it('are recorded once and not reapplied when the database is opened again', () => {
    const stateDir = path.join(tempDir, 'state');
    const first = open(stateDir);
    const before = first.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all();
    insertUser(first, 'u1', 'alice');
    first.close();

    const second = open(stateDir);
    expect(second.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all()).toEqual(before);
    // Versions are numbered per branch of work, so they need not be contiguous.
    expect(before.at(-1)).toMatchObject({ version: LATEST_SCHEMA_VERSION });
    expect(second.prepare('SELECT username FROM users').all()).toEqual([{ username: 'alice' }]);
  });

  it('create every table the console keeps', () => {
    const db = open();
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((row) => row.name);
    expect(tables).toEqual(['analytics_drift', 'analytics_refreshes', 'audit_events', 'context_statuses', 'health_runs', 'login_attempts', 'regenerations', 'saved_views', 'schema_migrations', 'sessions', 'sign_in_addresses', 'slow_queries', 'snapshot_verifications', 'user_tenants', 'users']);
  });

  it('link audit events recorded before the hash chain existed, so the old trail verifies', async () => {
    const stateDir = path.join(tempDir, 'state');
    const db = open(stateDir);
    db.exec(`DELETE FROM schema_migrations WHERE version >= 5;
      CREATE TABLE audit_old AS SELECT id, at, actor, action, target, outcome, detail FROM audit_events;
      DROP TABLE audit_events;
      CREATE TABLE audit_events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, detail TEXT) STRICT;
      INSERT INTO audit_events VALUES (1, '2025-01-01T00:00:00.000Z', 'cli', 'user.create', 'a', 'ok', NULL), (2, '2025-01-02T00:00:00.000Z', 'a', 'composite.regenerate', 'admin', 'error', '{"x":1}');
      DROP TABLE audit_old; DROP TABLE slow_queries; DROP TABLE context_statuses; DROP TABLE snapshot_verifications; DROP TABLE saved_views;`);
    db.close();
    const reopened = open(stateDir);
    expect(await verifyAuditChain(reopened)).toEqual({ ok: true, checked: 2, brokenAt: null });
  });

  it('refuse a database written by a newer console', () => {
    const stateDir = path.join(tempDir, 'state');
    const db = open(stateDir);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'later')").run();
    db.close();
    expect(() => open(stateDir)).toThrow(/schema version 999/);
  });
});

describe('schema rules', () => {
  it('treats user names that differ only in case as the same name', () => {
    const db = open();
    insertUser(db, 'u1', 'Alice');
    expect(() => insertUser(db, 'u2', 'alice')).toThrow(/UNIQUE/);
  });

  it('accepts only the three roles', () => {
    const db = open();
    expect(() => insertUser(db, 'u1', 'root', 'root')).toThrow(/CHECK/);
  });

  it("removes a user's sessions and tenant grants with the user", () => {
    const db = open();
    insertUser(db, 'u1', 'alice', 'tenant');
    db.prepare("INSERT INTO user_tenants (user_id, tenant_id) VALUES ('u1', 'acme')").run();
    db.prepare("INSERT INTO sessions (id, user_id, expires_at) VALUES ('digest', 'u1', 0)").run();
    db.prepare("DELETE FROM users WHERE id = 'u1'").run();
    expect(db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM user_tenants').get()).toEqual({ n: 0 });
  });
});

describe('the process-wide console database', () => {
  const savedStateDir = process.env.TRUTH_YARD_STATE_DIR;
  afterEach(() => {
    closeConsoleStore();
    if (savedStateDir === undefined) delete process.env.TRUTH_YARD_STATE_DIR;
    else process.env.TRUTH_YARD_STATE_DIR = savedStateDir;
  });

  it('opens once in the configured state folder and again after being closed', () => {
    const stateDir = path.join(tempDir, 'configured');
    process.env.TRUTH_YARD_STATE_DIR = stateDir;
    const first = getConsoleStore();
    expect(getConsoleStore()).toBe(first);
    expect(first.name).toBe(path.join(stateDir, CONSOLE_DB_FILE));

    closeConsoleStore();
    expect(first.open).toBe(false);
    const reopened = getConsoleStore();
    expect(reopened).not.toBe(first);
    expect(reopened.open).toBe(true);
  });
});
