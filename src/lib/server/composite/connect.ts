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
 * Why a composite's view does not compile on this connection, or null when it does:
 * regeneration refuses a candidate for it, and health reports it of the serving composite.
 */
export function viewCompileError(db: Database.Database, viewName: string): string | null {
  try {
    db.prepare(`SELECT * FROM temp.${quoteIdentifier(viewName)} LIMIT 0`);
    return null;
  } catch (error) {
    return (error as Error).message;
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
export function connectComposite(contextName: string, contextDir: string, autoDbFile: string): CompositeConnection {
  const identity = fileIdentity(autoDbFile);
  if (!identity) {
    throw new CompositeUnavailableError(contextName, `composite of ${contextName} has not been generated (no ${path.basename(autoDbFile)}); run: yard regenerate ${contextName}`, 'it has not been generated');
  }
  let db: Database.Database;
  try {
    db = new Database(autoDbFile, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new CompositeUnavailableError(contextName, `cannot open the composite of ${contextName}: ${(error as Error).message}; regenerate it`, 'SQLite cannot open it');
  }
  try {
    const manifest = readManifestFrom(db, autoDbFile);
    for (const attachment of manifest.attachments) {
      const target = resolveAttachPath(contextDir, attachment.path);
      if (!target.ok) {
        throw new CompositeUnavailableError(contextName, `attached database ${attachment.name} of ${contextName}: ${target.message}`, `its attached database ${attachment.name} is missing or not usable`);
      }
      db.prepare(`ATTACH DATABASE ? AS ${quoteIdentifier(attachment.name)}`).run(target.absolutePath);
    }
    // Pragmas before views: changing temp_store discards the TEMP schema and its views.
    for (const pragma of manifest.connectionPragmas) {
      if (!(pragma.name in CONNECTION_PRAGMAS)) {
        throw new CompositeUnavailableError(contextName, `the manifest of ${contextName} names pragma ${pragma.name}, which composites may not set; regenerate it`, 'its manifest is not valid');
      }
      db.pragma(`${pragma.name} = ${typeof pragma.value === 'number' ? pragma.value : quoteIdentifier(pragma.value)}`);
    }
    for (const view of manifest.views) {
      db.exec(`CREATE TEMP VIEW ${quoteIdentifier(view.name)} AS ${view.selectSql}`);
    }
    return { context: contextName, db, manifest, identity };
  } catch (error) {
    db.close();
    if (error instanceof CompositeUnavailableError) throw error;
    if (error instanceof ManifestError) throw new CompositeUnavailableError(contextName, error.message, 'its manifest cannot be read');
    throw new CompositeUnavailableError(contextName, `cannot open the composite of ${contextName}: ${(error as Error).message}; check composite.sql and regenerate`, 'SQLite cannot open it');
  }
}
