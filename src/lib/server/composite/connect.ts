import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ProblemError } from '../core/errors.ts';
import { CONNECTION_PRAGMAS } from './plan.ts';
import { ManifestError, readManifestFrom, type CompositeManifest } from './manifest.ts';
import { resolveAttachPath } from './attach-targets.ts';

/** A composite that cannot be opened now: missing auto.db, a bad manifest, a vanished database. */
export class CompositeUnavailableError extends ProblemError {
  constructor(
    readonly context: string,
    message: string,
  ) {
    super('composite_unavailable', message, 503);
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

/** A read that found a database locked by a writer and would not wait for it: 503, try again shortly. */
export class DatabaseBusyError extends ProblemError {
  static readonly code = 'database_busy';
  override readonly retryAfterSeconds = 1;

  constructor() {
    super(DatabaseBusyError.code, 'A database this reads is locked by a writer right now (rollback journal); try again in a moment.', 503);
  }
}

/** The error as the problem it is when SQLite said a writer holds a lock; any other error as it is. */
export function busyAsProblem(error: unknown): unknown {
  return isDatabaseBusy(error) ? new DatabaseBusyError() : error;
}

/** A read on the server's thread, where nothing waits for a lock: a busy database is answered 503, not 500. */
export function readHere<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw busyAsProblem(error);
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
    throw new CompositeUnavailableError(contextName, `composite of ${contextName} has not been generated (no ${path.basename(autoDbFile)}); run: yard regenerate ${contextName}`);
  }
  let db: Database.Database;
  try {
    db = new Database(autoDbFile, { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (error) {
    throw new CompositeUnavailableError(contextName, `cannot open the composite of ${contextName}: ${(error as Error).message}; regenerate it`);
  }
  try {
    const manifest = readManifestFrom(db, autoDbFile);
    for (const attachment of manifest.attachments) {
      const target = resolveAttachPath(contextDir, attachment.path);
      if (!target.ok) {
        throw new CompositeUnavailableError(contextName, `attached database ${attachment.name} of ${contextName}: ${target.message}`);
      }
      db.prepare(`ATTACH DATABASE ? AS ${quoteIdentifier(attachment.name)}`).run(target.absolutePath);
    }
    // Pragmas before views: changing temp_store discards the TEMP schema and its views.
    for (const pragma of manifest.connectionPragmas) {
      if (!(pragma.name in CONNECTION_PRAGMAS)) {
        throw new CompositeUnavailableError(contextName, `the manifest of ${contextName} names pragma ${pragma.name}, which composites may not set; regenerate it`);
      }
      db.pragma(`${pragma.name} = ${typeof pragma.value === 'number' ? pragma.value : quoteIdentifier(pragma.value)}`);
    }
    if (options.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    for (const view of manifest.views) {
      db.exec(`CREATE TEMP VIEW ${quoteIdentifier(view.name)} AS ${view.selectSql}`);
    }
    return { context: contextName, db, manifest, identity };
  } catch (error) {
    db.close();
    if (error instanceof CompositeUnavailableError) throw error;
    // A writer's lock is not the composite's fault: it is answered as busy.
    if (isDatabaseBusy(error)) throw new DatabaseBusyError();
    if (error instanceof ManifestError) throw new CompositeUnavailableError(contextName, error.message);
    throw new CompositeUnavailableError(contextName, `cannot open the composite of ${contextName}: ${(error as Error).message}; check composite.sql and regenerate`);
  }
}
