import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ProblemError } from '../core/errors.ts';
import { CONNECTION_PRAGMAS } from './plan.ts';
import { ManifestError, readManifestFrom, type CompositeManifest } from './manifest.ts';
import { resolveAttachPath } from './attach-targets.ts';

/**
 * A composite that cannot be opened now: missing auto.db, a bad manifest, a vanished
 * database. The message is for operators (the CLI, logs) and names files relative to the
 * context folder; a web client, a tenant user perhaps, is told only `publicReason`, which
 * names nothing outside the context: a link may point into another tenant's folder.
 */
export class CompositeUnavailableError extends ProblemError {
  constructor(
    readonly context: string,
    message: string,
    readonly publicReason: string,
  ) {
    super('composite_unavailable', message, 503);
  }

  override get publicMessage(): string {
    return `The composite of ${this.context} cannot be opened now: ${this.publicReason}. An admin can see why on its context page (/admin/contexts/${this.context}) and regenerate it.`;
  }
}

/**
 * Why a composite's view does not compile on this connection, or null when it does: health
 * reports it of the serving composite (regeneration refuses a candidate for it, through
 * compileView, whose columns it checks too).
 */
export function viewCompileError(db: Database.Database, viewName: string): string | null {
  const compiled = compileView(db, viewName);
  return 'error' in compiled ? compiled.error : null;
}

/** A composite view's columns as this connection compiles it, or SQLite's reason it does not compile. */
export function compileView(db: Database.Database, viewName: string): { columns: string[] } | { error: string } {
  try {
    return { columns: db.prepare(`SELECT * FROM temp.${quoteIdentifier(viewName)} LIMIT 0`).columns().map((column) => column.name) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** What identifies one generation of an auto.db on disk; a rename over it changes the inode. */
export interface FileIdentity {
  ino: number;
  mtimeMs: number;
  size: number;
}

export function fileIdentity(file: string): FileIdentity | null {
  try {
    const stat = fs.statSync(file);
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, size: stat.size };
  } catch {
    return null;
  }
}

export function sameIdentity(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return a !== null && b !== null && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

export interface CompositeConnection {
  context: string;
  db: Database.Database;
  manifest: CompositeManifest;
  /** Identity of the auto.db this connection was opened from. */
  identity: FileIdentity | null;
  /** Each attached database's file and its identity when attached, to notice it vanish, be replaced or shrink. */
  attached: Array<{ file: string; identity: FileIdentity | null }>;
}

/**
 * Whether the files a connection attached are still the ones it holds. SQLite keeps reading
 * a file that was deleted or replaced (it holds the old inode), and a truncated file fails
 * every read, so a connection whose attachment vanished, was replaced (another inode, a
 * symlink) or shrank is reopened; reopening then says what is wrong. Writes that only grow
 * or touch a file are SQLite's to notice. One stat per attachment.
 */
export function attachmentsUnchanged(connection: CompositeConnection): boolean {
  return connection.attached.every(({ file, identity }) => {
    const now = fileIdentity(file);
    return now !== null && identity !== null && now.ino === identity.ino && now.size >= identity.size;
  });
}

export interface ConnectOptions {
  /**
   * Milliseconds a statement waits for a writer's lock before SQLITE_BUSY, overriding
   * composite.sql's busy_timeout. The server's own thread passes 0: a wait there would
   * freeze every request, so a busy database is read elsewhere or answered 503.
   */
  busyTimeoutMs?: number;
}

/** SQLite's answer (here, on this thread) when a writer holds a lock the read needs (rollback journal) and the wait ran out. */
export function isDatabaseBusy(error: unknown): boolean {
  if (error instanceof DatabaseBusyError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * How long a read outside the server's thread (a read process, an ad-hoc SQL or export
 * process) waits for a writer's lock: long enough for an ordinary commit to end, short
 * enough that a tenant whose writer holds a lock for seconds does not keep processes shared
 * by every tenant waiting, and well inside the read's deadline, so the answer is 503
 * "busy, retry" rather than 504.
 */
const BUSY_WAIT_MS = 250;
export function busyWaitWithin(deadlineMs: number): number {
  return Math.min(BUSY_WAIT_MS, Math.floor(deadlineMs / 2));
}

/** A read that found a database locked by a writer and would not wait for it: 503, try again shortly. */
export class DatabaseBusyError extends ProblemError {
  static readonly code = 'database_busy';
  override readonly retryAfterSeconds = 1;

  constructor() {
    super(DatabaseBusyError.code, 'A database this reads is locked by a writer right now (rollback journal); try again in a moment.', 503);
  }
}

/** SQLite's answer when a file it reads is damaged, truncated, not a database or gone from under it. */
export function isDatabaseUnreadable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB|IOERR|CANTOPEN)/.test(code);
}

/** A read that hit a damaged attached database (truncated, overwritten): the composite cannot serve until it is fixed. */
export class DatabaseUnreadableError extends ProblemError {
  constructor(sqliteMessage: string) {
    super(
      'composite_unavailable',
      `A database this composite attaches cannot be read (${sqliteMessage}): it was damaged, truncated or replaced. A health check names it; restore it from a backup, or remove its ATTACH from composite.sql and regenerate.`,
      503,
    );
  }
}

/** The error as the problem it is when SQLite said a writer holds a lock or a file is damaged; any other error as it is. */
export function sqliteAsProblem(error: unknown): unknown {
  if (isDatabaseBusy(error)) return new DatabaseBusyError();
  if (isDatabaseUnreadable(error)) return new DatabaseUnreadableError((error as Error).message);
  return error;
}

/** A read on the server's thread, where nothing waits for a lock: a busy or damaged database is answered 503, not 500. */
export function readHere<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw sqliteAsProblem(error);
  }
}

/** Whether a problem (a read process's answer included) is a database found busy. */
export function isBusyProblem(error: unknown): boolean {
  return error instanceof ProblemError && error.code === DatabaseBusyError.code;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Opens an auto.db the one way the console ever does: read-only (so every attachment is
 * read-only too), attaching from the manifest only, after proving every target is an
 * existing file inside the context folder, because ATTACH would otherwise create it.
 *
 * `contextDir` is given separately from the auto.db so a candidate built elsewhere (a
 * dry-run check) is validated exactly as the served one will be.
 */
export function connectComposite(contextName: string, contextDir: string, autoDbFile: string, options: ConnectOptions = {}): CompositeConnection {
  const identity = fileIdentity(autoDbFile);
  if (!identity) {
    throw new CompositeUnavailableError(contextName, `composite of ${contextName} has not been generated (no ${path.basename(autoDbFile)}); run: yard regenerate ${contextName}`, 'it has not been generated');
  }
  let db: Database.Database;
  try {
    db = new Database(autoDbFile, { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (error) {
    throw new CompositeUnavailableError(contextName, `cannot open the composite of ${contextName}: ${(error as Error).message}; regenerate it`, 'SQLite cannot open it');
  }
  try {
    const manifest = readManifestFrom(db, autoDbFile);
    const attached: CompositeConnection['attached'] = [];
    for (const attachment of manifest.attachments) {
      const target = resolveAttachPath(contextDir, attachment.path);
      if (!target.ok) {
        throw new CompositeUnavailableError(contextName, `attached database ${attachment.name} of ${contextName}: ${target.message}`, `its attached database ${attachment.name} is missing or not usable`);
      }
      attached.push({ file: target.absolutePath, identity: fileIdentity(target.absolutePath) });
      db.prepare(`ATTACH DATABASE ? AS ${quoteIdentifier(attachment.name)}`).run(target.absolutePath);
    }
    // Pragmas before views: changing temp_store discards the TEMP schema and its views.
    for (const pragma of manifest.connectionPragmas) {
      if (!(pragma.name in CONNECTION_PRAGMAS)) {
        throw new CompositeUnavailableError(contextName, `the manifest of ${contextName} names pragma ${pragma.name}, which composites may not set; regenerate it`, 'its manifest is not valid');
      }
      db.pragma(`${pragma.name} = ${typeof pragma.value === 'number' ? pragma.value : quoteIdentifier(pragma.value)}`);
    }
    if (options.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    for (const view of manifest.views) {
      db.exec(`CREATE TEMP VIEW ${quoteIdentifier(view.name)} AS ${view.selectSql}`);
    }
    return { context: contextName, db, manifest, identity, attached };
  } catch (error) {
    db.close();
    if (error instanceof CompositeUnavailableError) throw error;
    // A writer's lock is not the composite's fault: it is answered as busy (a damaged file as unreadable).
    const problem = sqliteAsProblem(error);
    if (problem !== error) throw problem;
    if (error instanceof ManifestError) throw new CompositeUnavailableError(contextName, error.message, 'its manifest cannot be read');
    throw new CompositeUnavailableError(contextName, `cannot open the composite of ${contextName}: ${(error as Error).message}; check composite.sql and regenerate`, 'SQLite cannot open it');
  }
}
