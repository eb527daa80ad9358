import crypto from 'node:crypto';
import fs from 'node:fs';
import { fsyncPath } from '../core/fsync.ts';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AUTO_DB_FILE, autoDbPath, compositeSqlPath, type VolumeContext } from '../volume/contexts.ts';
import { compileView, connectComposite, quoteIdentifier } from './connect.ts';
import { GENERATOR_VERSION, schemaVersionOf, sourceDigest, writeManifest, type CompositeManifest } from './manifest.ts';
import { parseCompositeSql } from './parse.ts';
import { resolveAttachTargets } from './attach-targets.ts';
import type { CompositePlan, CompositeProblem } from './plan.ts';
import { withContextLock } from './lock.ts';
import { fts5ContentTable, isFts5 } from '../sqlite/fts5.ts';

export type RegenerationResult =
  | { ok: true; context: string; manifest: CompositeManifest; autoDbFile: string }
  | { ok: false; context: string; sourceSha256: string | null; problems: CompositeProblem[] };

export interface RegenerationOptions {
  /** Folder that file names in problems are shown relative to (the volume); absolute paths otherwise. */
  displayRoot?: string;
}

export function displayPath(file: string, displayRoot: string | undefined): string {
  return displayRoot ? path.relative(displayRoot, file) : file;
}

function problemAt(file: string, message: string, line = 1, column = 1): CompositeProblem {
  return { file, line, column, message };
}

/** Schema cookie of each attached database. */
function schemaVersions(plan: CompositePlan, targets: Map<string, string>): Map<string, number> {
  return new Map(plan.attachments.map((attachment) => [attachment.name, schemaVersionOf(targets.get(attachment.name)!)]));
}

function buildManifest(context: VolumeContext, plan: CompositePlan, sourceSha256: string, versions: Map<string, number>): CompositeManifest {
  return {
    generatorVersion: GENERATOR_VERSION,
    context: context.name,
    generatedAt: new Date().toISOString(),
    sourceSha256,
    attachments: plan.attachments.map((a) => ({ name: a.name, path: a.path, schemaVersion: versions.get(a.name)! })),
    connectionPragmas: plan.connectionPragmas.map((p) => ({ name: p.name, value: p.value })),
    expectations: plan.expectations.map((e) => ({ name: e.name, value: e.value, schema: e.schema })),
    views: plan.views.map((v) => ({
      name: v.name,
      selectSql: v.selectSql,
      line: v.location.line,
      ...(v.description ? { description: v.description.text } : {}),
      columnDescriptions: Object.fromEntries(Object.entries(v.columnDescriptions).map(([column, comment]) => [column, comment.text])),
    })),
    expectedIndexes: plan.expectedIndexes.map(({ location: _location, ...index }) => index),
    searchIndexes: plan.searchIndexes.map(({ location: _location, ...index }) => index),
  };
}

/**
 * Writes the candidate in one transaction with no journal and no syncing: until it is
 * renamed into place it is scratch that a failure throws away, and it is fsynced once,
 * whole, before the rename. (Syncing each statement's commit cost most of the time of
 * regenerating a thousand composites.)
 */
function writeCandidate(file: string, manifest: CompositeManifest): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.transaction(() => writeManifest(db, manifest))();
  } finally {
    db.close();
  }
}

/**
 * Opens the candidate exactly as the app will and compiles every view, so a composite that
 * would fail at request time fails here instead, at the view's line in composite.sql.
 */
function validateCandidate(context: VolumeContext, candidate: string, plan: CompositePlan, file: string): CompositeProblem[] {
  let connection;
  try {
    connection = connectComposite(context.name, context.dir, candidate);
  } catch (error) {
    const message = (error as Error).message;
    const view = plan.views.find((v) => message.includes(`view ${quoteIdentifier(v.name)}`) || message.includes(v.name));
    return [problemAt(file, message, view?.location.line, view?.location.column)];
  }
  const problems: CompositeProblem[] = [];
  try {
    for (const index of plan.searchIndexes) {
      const sql = connection.db.prepare(`SELECT sql FROM ${quoteIdentifier(index.schema)}.sqlite_schema WHERE name = ?`).pluck().get(index.fts) as string | undefined;
      if (!sql || !isFts5(sql) || fts5ContentTable(sql)?.toLowerCase() !== index.table.toLowerCase()) {
        problems.push(problemAt(file, `-- @fts ${index.schema}.${index.table}: ${index.fts} names no FTS5 table with content='${index.table}' in ${index.schema}; create it there, or fix the name`, index.location.line, 1));
      }
    }
    for (const view of plan.views) {
      const compiled = compileView(connection.db, view.name);
      if ('error' in compiled) {
        problems.push(problemAt(file, `view ${view.name} does not compile: ${compiled.error}`, view.location.line, view.location.column));
        continue;
      }
      const { columns } = compiled;
      for (const [column, comment] of Object.entries(view.columnDescriptions)) {
        if (!columns.includes(column)) problems.push(problemAt(file, `-- @column ${column} describes a column view ${view.name} does not have; its columns are ${columns.join(', ')}`, comment.line, 1));
      }
    }
  } finally {
    connection.db.close();
  }
  return problems;
}


function removeQuietly(file: string): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}-journal`, { force: true });
}

const CANDIDATE_MARK = `${AUTO_DB_FILE}.tmp-`;

/**
 * Candidate auto.dbs (and their journals) left in a context folder by regenerations that
 * were killed before they could remove them. Under the context's lock every one of them is
 * such a leftover: no other regeneration of the context is running.
 */
export function leftoverCandidates(context: VolumeContext): string[] {
  try {
    return fs.readdirSync(context.dir).filter((name) => name.startsWith(CANDIDATE_MARK));
  } catch {
    return [];
  }
}

interface PreparedComposite {
  sourceSha256: string | null;
  plan?: CompositePlan;
  manifest?: CompositeManifest;
  problems: CompositeProblem[];
}

/** Reads, parses and resolves composite.sql; no file is written. */
function prepareComposite(context: VolumeContext, options: RegenerationOptions): PreparedComposite {
  const sourceFile = compositeSqlPath(context);
  const shownFile = displayPath(sourceFile, options.displayRoot);
  let text: string;
  try {
    text = fs.readFileSync(sourceFile, 'utf8');
  } catch {
    return { sourceSha256: null, problems: [problemAt(shownFile, `${context.name} has no composite.sql; write one (or run: yard scaffold ${context.name} --write)`)] };
  }
  const sourceSha256 = sourceDigest(text);
  const parsed = parseCompositeSql(text, shownFile);
  if (!parsed.ok) return { sourceSha256, problems: parsed.problems };
  const resolved = resolveAttachTargets(parsed.plan, context.dir);
  if (resolved.problems.length > 0) return { sourceSha256, problems: resolved.problems };
  const targets = new Map(resolved.targets.map((t) => [t.name, t.absolutePath]));
  let versions: Map<string, number>;
  try {
    versions = schemaVersions(parsed.plan, targets);
  } catch (error) {
    return { sourceSha256, problems: [problemAt(shownFile, `an attached database cannot be read: ${(error as Error).message}`)] };
  }
  return { sourceSha256, plan: parsed.plan, manifest: buildManifest(context, parsed.plan, sourceSha256, versions), problems: [] };
}

/** Builds a candidate auto.db at `candidate`, validates it, and leaves it there only if valid. */
function buildValidatedCandidate(context: VolumeContext, prepared: PreparedComposite, candidate: string, shownFile: string): CompositeProblem[] {
  try {
    writeCandidate(candidate, prepared.manifest!);
    const problems = validateCandidate(context, candidate, prepared.plan!, shownFile);
    if (problems.length > 0) removeQuietly(candidate);
    return problems;
  } catch (error) {
    removeQuietly(candidate);
    return [problemAt(shownFile, `could not build the composite: ${(error as Error).message}`)];
  }
}

/**
 * Validates a context's composite.sql completely, including compiling every view against
 * the real databases, without writing anything to the volume (the candidate lives in the
 * system temp folder and is removed).
 */
export function checkComposite(context: VolumeContext, options: RegenerationOptions = {}): { ok: boolean; problems: CompositeProblem[]; plan?: CompositePlan } {
  const prepared = prepareComposite(context, options);
  if (prepared.problems.length > 0) return { ok: false, problems: prepared.problems };
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-check-'));
  try {
    const problems = buildValidatedCandidate(context, prepared, path.join(scratch, AUTO_DB_FILE), displayPath(compositeSqlPath(context), options.displayRoot));
    return { ok: problems.length === 0, problems, plan: prepared.plan };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Regenerates a context's auto.db atomically: build a candidate beside it, validate it by
 * connecting as the app does, fsync, then rename over the old one. Any failure leaves the
 * previous auto.db serving. Source databases are only ever opened read-only.
 */
export function regenerateComposite(context: VolumeContext, options: RegenerationOptions = {}): RegenerationResult {
  return withContextLock(context, () => {
    for (const leftover of leftoverCandidates(context)) fs.rmSync(path.join(context.dir, leftover), { force: true });
    const prepared = prepareComposite(context, options);
    if (prepared.problems.length > 0) return { ok: false, context: context.name, sourceSha256: prepared.sourceSha256, problems: prepared.problems };
    const target = autoDbPath(context);
    const candidate = path.join(context.dir, `${CANDIDATE_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    const problems = buildValidatedCandidate(context, prepared, candidate, displayPath(compositeSqlPath(context), options.displayRoot));
    if (problems.length > 0) return { ok: false, context: context.name, sourceSha256: prepared.sourceSha256, problems };
    try {
      // 0444 tells people the file is derived; it does not stop root, which ignores file modes.
      fs.chmodSync(candidate, 0o444);
      fsyncPath(candidate);
      fs.renameSync(candidate, target);
      fsyncPath(context.dir);
    } catch (error) {
      removeQuietly(candidate);
      return { ok: false, context: context.name, sourceSha256: prepared.sourceSha256, problems: [problemAt(target, `could not replace the composite: ${(error as Error).message}`)] };
    }
    return { ok: true, context: context.name, manifest: prepared.manifest!, autoDbFile: target };
  });
}

