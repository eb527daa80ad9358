import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { getSettings } from '../core/config.ts';
import { ProblemError } from '../core/errors.ts';
import { linkExistingAuditEvents } from './audit.ts';
import { keptStatement } from '../sqlite/statements.ts';

/**
 * The console's own database: users, sessions, audit events, regeneration records and
 * health runs. It lives in the state directory and is never attached to a composite.
 */
export type ConsoleStore = Database.Database;

export const CONSOLE_DB_FILE = 'console.sqlite.db';

/** The console database cannot be opened or is newer than this console. */
export class ConsoleStoreError extends ProblemError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super('console_store_unavailable', message, 503);
  }

  /** The message names the file, which is the operator's business, not a web client's. */
  override get publicMessage(): string {
    return 'The console database cannot be opened now; an operator must check TRUTH_YARD_STATE_DIR.';
  }
}

/** A write to the console database failed because its disk is full: nothing was recorded. */
export class ConsoleStoreFullError extends ProblemError {
  constructor() {
    super('storage_full', "The console's state disk is full, so nothing could be recorded (sign-ins, audit, history); free space on it and try again.", 507);
  }
}

/** Whether SQLite (SQLITE_FULL) or the file system (ENOSPC) said a write found its disk full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC';
}

/** The error as the problem it is when SQLite said the console database's disk is full; any other error as it is. */
export function storeAsProblem(error: unknown): unknown {
  return isDiskFull(error) ? new ConsoleStoreFullError() : error;
}

/**
 * Whether an existing console database is sound, by SQLite's quick_check: a damaged one is
 * refused at start, with one line saying what to do, rather than answering 500 on every
 * route afterwards.
 */
function assertUndamaged(db: Database.Database, file: string): void {
  let verdict: string;
  try {
    verdict = (db.pragma('quick_check(3)') as Array<Record<string, string>>)
      .flatMap((row) => String(Object.values(row)[0]).split('\n'))
      .filter((line) => line.trim() && !line.startsWith('***'))
      .join('; ');
  } catch (error) {
    verdict = (error as Error).message;
  }
  if (verdict !== 'ok') {
    throw new ConsoleStoreError(
      file,
      `The console database ${file} is damaged (${verdict}): stop the console, restore the file from your latest backup (or move it aside to start with an empty one, losing users, sessions and history), then start again.`,
    );
  }
}

interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Work SQL alone cannot do (hashing existing rows), run after `sql` in the same transaction. */
  after?: (db: ConsoleStore) => void;
}

/**
 * Append only: a released migration is never edited, a change is a new version.
 * Times are ISO 8601 UTC text (they sort as they read) except where the value is only
 * compared with "now" (session expiry, login attempts), which are unix seconds.
 */
const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'users, sessions, audit, regenerations, health runs, login attempts',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'tenant')),
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE user_tenants (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        tenant_id TEXT NOT NULL,
        PRIMARY KEY (user_id, tenant_id)
      ) STRICT, WITHOUT ROWID;

      -- id is the SHA-256 (hex) of the session token: a copy of this table signs nobody in.
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sessions_by_user ON sessions (user_id);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);

      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'denied')),
        detail TEXT CHECK (detail IS NULL OR json_valid(detail))
      ) STRICT;

      CREATE TABLE regenerations (
        id INTEGER PRIMARY KEY,
        context TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        source_sha256 TEXT,
        problems TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(problems)),
        actor TEXT NOT NULL
      ) STRICT;
      CREATE INDEX regenerations_by_context ON regenerations (context, finished_at DESC, id DESC);

      CREATE TABLE health_runs (
        id INTEGER PRIMARY KEY,
        context TEXT NOT NULL,
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        worst_severity TEXT NOT NULL CHECK (worst_severity IN ('ok', 'warn', 'error')),
        full INTEGER NOT NULL CHECK (full IN (0, 1)),
        report TEXT NOT NULL CHECK (json_valid(report))
      ) STRICT;
      CREATE INDEX health_runs_by_context ON health_runs (context, at DESC, id DESC);

      CREATE TABLE login_attempts (
        key TEXT NOT NULL,
        at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX login_attempts_by_key ON login_attempts (key, at);
    `,
  },
  {
    version: 3,
    name: 'addresses each user name signed in from',
    sql: `
      -- key: the user name's digest and the address (per /64 for IPv6), as the rate limit counts them.
      CREATE TABLE sign_in_addresses (
        key TEXT PRIMARY KEY,
        last_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'analytics refresh runs and the latest schema drift report',
    sql: `
      -- A run is recorded as 'running' when it starts, so one killed midway is known as such.
      CREATE TABLE analytics_refreshes (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
        outcome TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'problems', 'error', 'killed')),
        pid INTEGER NOT NULL,
        actor TEXT NOT NULL,
        tenants_total INTEGER NOT NULL DEFAULT 0,
        tenants_read INTEGER NOT NULL DEFAULT 0,
        tenants_removed INTEGER NOT NULL DEFAULT 0,
        rows_read INTEGER NOT NULL DEFAULT 0,
        problems TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(problems))
      ) STRICT;
      CREATE INDEX analytics_refreshes_newest ON analytics_refreshes (started_at DESC, id DESC);

      -- Replaced as a whole by each refresh that completes.
      CREATE TABLE analytics_drift (
        tenant TEXT NOT NULL,
        analytics_table TEXT NOT NULL,
        source TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('missing_object', 'missing_column', 'extra_column', 'type_differs')),
        column_name TEXT,
        expected TEXT,
        found TEXT,
        severity TEXT NOT NULL CHECK (severity IN ('error', 'warn', 'info')),
        message TEXT NOT NULL
      ) STRICT;
      CREATE INDEX analytics_drift_by_tenant ON analytics_drift (tenant);
    `,
  },
  {
    version: 5,
    name: 'audit hash chain',
    // prev_hash and hash link every event to the one before it (see store/audit.ts); events
    // recorded before this version are linked here, in id order.
    sql: `
      ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
      ALTER TABLE audit_events ADD COLUMN hash TEXT;
    `,
    after: (db) => linkExistingAuditEvents(db),
  },
  {
    version: 6,
    name: 'slow queries, persisted context statuses, snapshot verifications',
    sql: `
      CREATE TABLE slow_queries (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        context TEXT NOT NULL,
        kind TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        sql TEXT NOT NULL,
        rows INTEGER,
        actor TEXT
      ) STRICT;
      CREATE INDEX slow_queries_by_time ON slow_queries (at);

      -- The last known composite status of every context, so the first contexts list after a
      -- restart shows statuses at once while the volume is checked again in the background.
      CREATE TABLE context_statuses (
        context TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        reasons TEXT NOT NULL CHECK (json_valid(reasons)),
        checked_at TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE snapshot_verifications (
        id INTEGER PRIMARY KEY,
        snapshot_id TEXT NOT NULL,
        context TEXT NOT NULL,
        at TEXT NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        problems TEXT NOT NULL CHECK (json_valid(problems))
      ) STRICT;
      CREATE INDEX snapshot_verifications_by_snapshot ON snapshot_verifications (snapshot_id, id DESC);
    `,
  },
  {
    version: 7,
    name: 'saved views',
    sql: `
      -- A browse URL (target: objects/<object>?<query>, relative to the context) or an ad-hoc
      -- SQL statement, named by a user; private to its owner or shared with everyone who
      -- can see the context. Opening one goes through the context's route like any URL.
      CREATE TABLE saved_views (
        id INTEGER PRIMARY KEY,
        context TEXT NOT NULL,
        owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL CHECK (kind IN ('browse', 'sql')),
        target TEXT NOT NULL,
        shared INTEGER NOT NULL CHECK (shared IN (0, 1)),
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX saved_views_by_context ON saved_views (context, name);
    `,
  },
];

export const LATEST_SCHEMA_VERSION = migrations[migrations.length - 1]!.version;

function appliedVersions(db: ConsoleStore): Set<number> {
  const rows = db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>;
  return new Set(rows.map((row) => row.version));
}

/**
 * Brings the schema up to date. Each migration runs in its own IMMEDIATE transaction and
 * re-checks that it is still pending inside it, so a server and a CLI starting together
 * apply it once.
 */
function migrate(db: ConsoleStore, file: string): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const newest = Math.max(0, ...appliedVersions(db));
  if (newest > LATEST_SCHEMA_VERSION) {
    throw new ConsoleStoreError(
      file,
      `${file} has schema version ${newest}, but this console knows versions up to ${LATEST_SCHEMA_VERSION}; run a newer console or point TRUTH_YARD_STATE_DIR at another folder`,
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of migrations) {
    db.transaction(() => {
      if (appliedVersions(db).has(migration.version)) return;
      db.exec(migration.sql);
      migration.after?.(db);
      record.run(migration.version, migration.name, new Date().toISOString());
    }).immediate();
  }
}

/**
 * Creates the database file readable and writable by its owner only (0600) before SQLite
 * does, which would create it with the umask's 0644. SQLite gives the write-ahead log and
 * its index the mode of the database file. An existing file keeps the mode it was given.
 */
function createPrivately(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * A state folder that already existed keeps its mode; when other users of the machine may
 * read or enter it, say so (as a Node warning, on stderr, for the server and the CLI alike).
 */
function warnIfOthersCanRead(stateDir: string): void {
  const mode = fs.statSync(stateDir).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  process.emitWarning(
    `the state folder ${stateDir} is open to other users of this machine (mode ${mode.toString(8).padStart(4, '0')}); it holds password hashes and sessions: chmod 700 ${stateDir}`,
    { code: 'YARD_STATE_DIR_OPEN' },
  );
}

/** Opens (creating if needed) `<stateDir>/console.sqlite.db` with its schema up to date. */
export function openConsoleStore(stateDir: string): ConsoleStore {
  const file = path.join(stateDir, CONSOLE_DB_FILE);
  const existed = fs.existsSync(file);
  let db: ConsoleStore;
  try {
    // Password hashes and session digests live here: keep the folder private to the service user.
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    warnIfOthersCanRead(stateDir);
    createPrivately(file);
    db = new Database(file, { timeout: 5000 }); // sets busy_timeout: a CLI and the server may write at once
  } catch (error) {
    throw new ConsoleStoreError(
      file,
      `Cannot open the console database ${file}: ${(error as Error).message}. Set TRUTH_YARD_STATE_DIR to a folder this process can write.`,
    );
  }
  try {
    if (existed) assertUndamaged(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (error) {
    db.close();
    if (error instanceof ConsoleStoreError) throw error;
    throw new ConsoleStoreError(file, `Cannot prepare the console database ${file}: ${(error as Error).message}`);
  }
  return db;
}

let processStore: { db: ConsoleStore; file: string; ino: number } | undefined;

function inodeOf(file: string): number | null {
  return fs.statSync(file, { throwIfNoEntry: false })?.ino ?? null;
}

/**
 * The console database of this process, opened on first use from the state directory
 * setting. A connection keeps writing to a file deleted under it, so each use checks the
 * file is still the one opened: gone is an error (never a fresh, empty store that would
 * forget every user), replaced (restored from a backup) is opened again and checked.
 */
export function getConsoleStore(): ConsoleStore {
  if (processStore?.db.open) {
    const ino = inodeOf(processStore.file);
    if (ino === processStore.ino) return processStore.db;
    if (ino === null) {
      throw new ConsoleStoreError(processStore.file, `The console database ${processStore.file} was deleted while the console runs; restore it from a backup and restart the console.`);
    }
    closeConsoleStore();
  }
  const { stateDir } = getSettings();
  const db = openConsoleStore(stateDir);
  const file = path.join(stateDir, CONSOLE_DB_FILE);
  processStore = { db, file, ino: inodeOf(file)! };
  return db;
}

/**
 * A token that changes with every commit to the console store: SQLite's `data_version`
 * changes when another connection (a `yard` command) commits, `total_changes()` when this
 * one writes a row (a regeneration or health run recorded by the server). What is read
 * from the store and kept in memory is kept until it changes.
 */
export function storeVersion(db: ConsoleStore): string {
  const { data, changes } = keptStatement(db, 'SELECT (SELECT data_version FROM pragma_data_version) AS data, total_changes() AS changes').get() as { data: number; changes: number };
  return `${data}:${changes}`;
}

/** Closes the process's console database; the next getConsoleStore() opens it again. */
export function closeConsoleStore(): void {
  processStore?.db.close();
  processStore = undefined;
}

/**
 * Runs a bulk operation (`yard regenerate --all`) with one sync of the console database at
 * the end instead of one per record: its commits go to the write-ahead log unsynced, and a
 * checkpoint then makes them all durable. Should the machine lose power midway, the history
 * of that run may be lost; each composite is synced on its own all the same.
 */
export async function withOneSyncAtTheEnd<T>(db: ConsoleStore, work: () => T | Promise<T>): Promise<T> {
  db.pragma('synchronous = NORMAL');
  try {
    return await work();
  } finally {
    db.pragma('synchronous = FULL');
    db.pragma('wal_checkpoint(FULL)');
  }
}
