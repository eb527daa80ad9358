import crypto from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { autoDbPath, compositeSqlPath, listDatabaseFiles, type VolumeContext } from '../volume/contexts.ts';
import { compositeState, type CompositeStatus } from './status.ts';
import { connectComposite, quoteIdentifier } from './connect.ts';
import { resolveAttachPath } from './attach-targets.ts';
import { parseCompositeSql } from './parse.ts';
import { MAX_ATTACHMENTS } from './plan.ts';
import type { CompositeManifest } from './manifest.ts';

export type Severity = 'ok' | 'warn' | 'error';

export interface HealthFinding {
  /** `composite` or the attachment's name. */
  subject: string;
  check: string;
  severity: Severity;
  /** A sentence a person can act on. */
  message: string;
}

export interface DatabaseHealth {
  name: string;
  path: string;
  exists: boolean;
  readable: boolean;
  sizeBytes: number | null;
  walBytes: number | null;
  pageSize: number | null;
  pageCount: number | null;
  freelistPages: number | null;
  journalMode: string | null;
  /** sha256 of the schema's SQL, sorted, to tell schema changes apart from data changes. */
  schemaFingerprint: string | null;
  modifiedAt: string | null;
  findings: HealthFinding[];
}

export interface HealthReport {
  context: string;
  checkedAt: string;
  full: boolean;
  status: CompositeStatus;
  attachmentCount: number;
  worstSeverity: Severity;
  databases: DatabaseHealth[];
  findings: HealthFinding[];
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const SEVERITY_RANK: Record<Severity, number> = { ok: 0, warn: 1, error: 2 };
/** A freelist above this share of the pages is space VACUUM would give back. */
const FREELIST_WARN_SHARE = 0.25;

type Expectation = CompositeManifest['expectations'][number];
type AttachmentToCheck = { name: string; path: string };

/**
 * Which databases to check: the manifest's when the composite is readable, else what
 * composite.sql says, else every database in the folder, so even a context whose
 * composite cannot be built still gets its databases checked.
 */
function attachmentsToCheck(context: VolumeContext, manifest: CompositeManifest | null): { attachments: AttachmentToCheck[]; expectations: Expectation[] } {
  if (manifest) return { attachments: manifest.attachments, expectations: manifest.expectations };
  try {
    const parsed = parseCompositeSql(fs.readFileSync(compositeSqlPath(context), 'utf8'), 'composite.sql');
    if (parsed.ok) return { attachments: parsed.plan.attachments, expectations: parsed.plan.expectations };
  } catch {
    // No composite.sql: fall through to the files on disk.
  }
  return { attachments: listDatabaseFiles(context).map((file) => ({ name: file.replace(/\.sqlite\.db$/, ''), path: file })), expectations: [] };
}

function readHeader(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = fs.readSync(fd, header, 0, header.length, 0);
    return header.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

function fileSize(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

/** Checks one attached database through a read-only connection; every problem becomes a finding. */
function checkDatabase(contextDir: string, attachment: AttachmentToCheck, expectations: Expectation[], full: boolean): DatabaseHealth {
  const health: DatabaseHealth = {
    name: attachment.name,
    path: attachment.path,
    exists: false,
    readable: false,
    sizeBytes: null,
    walBytes: null,
    pageSize: null,
    pageCount: null,
    freelistPages: null,
    journalMode: null,
    schemaFingerprint: null,
    modifiedAt: null,
    findings: [],
  };
  const finding = (check: string, severity: Severity, message: string) => health.findings.push({ subject: attachment.name, check, severity, message });
  const target = resolveAttachPath(contextDir, attachment.path);
  if (!target.ok) {
    finding('exists', 'error', target.message);
    return health;
  }
  health.exists = true;
  const stat = fs.statSync(target.absolutePath);
  health.sizeBytes = stat.size;
  health.modifiedAt = stat.mtime.toISOString();
  health.walBytes = fileSize(`${target.absolutePath}-wal`);
  finding('exists', 'ok', `${attachment.path} exists`);

  let header: Buffer;
  try {
    header = readHeader(target.absolutePath);
  } catch (error) {
    finding('readable', 'error', `${attachment.path} cannot be read: ${(error as Error).message}; check its permissions`);
    return health;
  }
  if (!header.equals(SQLITE_HEADER)) {
    finding('header', 'error', `${attachment.path} is not a valid SQLite database (its first bytes are not the SQLite header); restore it from a backup`);
    return health;
  }
  finding('header', 'ok', 'valid SQLite header');

  let db: Database.Database | undefined;
  try {
    db = new Database(target.absolutePath, { readonly: true, fileMustExist: true });
    health.readable = true;
    health.pageSize = db.pragma('page_size', { simple: true }) as number;
    health.pageCount = db.pragma('page_count', { simple: true }) as number;
    health.freelistPages = db.pragma('freelist_count', { simple: true }) as number;
    health.journalMode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
    const schema = (db.prepare("SELECT coalesce(sql, '') AS sql FROM sqlite_schema ORDER BY type, name").all() as Array<{ sql: string }>).map((row) => row.sql).join('\n');
    health.schemaFingerprint = crypto.createHash('sha256').update(schema).digest('hex');

    const check = full ? 'integrity_check' : 'quick_check';
    const results = (db.pragma(check) as Array<Record<string, string>>).map((row) => Object.values(row)[0]);
    if (results.length === 1 && results[0] === 'ok') finding(check, 'ok', `${check} passed`);
    else finding(check, 'error', `${check} found damage in ${attachment.path}: ${results.slice(0, 3).join('; ')}; restore it from a backup`);

    for (const expectation of expectations.filter((e) => e.name === 'journal_mode' && (e.schema === null || e.schema.toLowerCase() === attachment.name.toLowerCase()))) {
      if (health.journalMode === expectation.value) finding('journal_mode', 'ok', `journal mode is ${health.journalMode} as expected`);
      else finding('journal_mode', 'warn', `journal mode is ${health.journalMode}, composite.sql expects ${expectation.value}; set PRAGMA journal_mode = ${expectation.value} on the owning database, or change the expectation`);
    }
    // synchronous is a setting of each writer's connection, not stored in the file: nothing to read here.

    if (health.pageCount > 0 && health.freelistPages / health.pageCount > FREELIST_WARN_SHARE) {
      finding('freelist', 'warn', `${health.freelistPages} of ${health.pageCount} pages are free; VACUUM the owning database to give the space back`);
    }
  } catch (error) {
    finding(health.readable ? (full ? 'integrity_check' : 'quick_check') : 'readable', 'error', `${attachment.path} cannot be read as a database: ${(error as Error).message}; restore it from a backup`);
  } finally {
    db?.close();
  }
  return health;
}

/** Views compile and expected indexes exist, checked through the composite as the app opens it. */
function checkComposite(context: VolumeContext, manifest: CompositeManifest, findings: HealthFinding[]): void {
  const finding = (check: string, severity: Severity, message: string) => findings.push({ subject: 'composite', check, severity, message });
  let connection;
  try {
    connection = connectComposite(context.name, context.dir, autoDbPath(context));
  } catch (error) {
    finding('connect', 'error', (error as Error).message);
    return;
  }
  try {
    for (const view of manifest.views) {
      try {
        connection.db.prepare(`SELECT * FROM temp.${quoteIdentifier(view.name)} LIMIT 0`);
        finding('view', 'ok', `view ${view.name} compiles`);
      } catch (error) {
        finding('view', 'error', `view ${view.name} (composite.sql line ${view.line}) no longer compiles: ${(error as Error).message}; fix composite.sql or the database and regenerate`);
      }
    }
    for (const index of manifest.expectedIndexes) {
      const present = connection.db
        .prepare(`SELECT 1 FROM ${quoteIdentifier(index.schema)}.sqlite_schema WHERE type = 'index' AND name = ? AND tbl_name = ?`)
        .get(index.name, index.table);
      const description = `${index.schema}.${index.name} on ${index.table}(${index.columns.join(', ')})`;
      if (present) finding('index', 'ok', `expected index ${description} is present`);
      else finding('index', 'warn', `expected index ${description} is missing: create it in the owning database (regeneration never creates indexes)`);
    }
  } finally {
    connection.db.close();
  }
}

/**
 * A health report of one context: every attached database (existence, header, quick_check
 * or integrity_check, journal mode, sizes, freelist, schema) and the composite (status,
 * views, expected indexes). Read-only throughout: no source database is opened for writing.
 */
export function checkHealth(context: VolumeContext, options: { full?: boolean } = {}): HealthReport {
  const full = options.full ?? false;
  const state = compositeState(context);
  const findings: HealthFinding[] = [];
  const statusSeverity: Record<CompositeStatus, Severity> = { fresh: 'ok', stale: 'warn', missing: 'warn', broken: 'error' };
  findings.push({
    subject: 'composite',
    check: 'status',
    severity: statusSeverity[state.status],
    message: state.status === 'fresh' ? 'composite is fresh' : `composite is ${state.status}: ${state.reasons.join('; ')}`,
  });
  const { attachments, expectations } = attachmentsToCheck(context, state.manifest);
  findings.push({ subject: 'composite', check: 'attachments', severity: 'ok', message: `${attachments.length} of at most ${MAX_ATTACHMENTS} attachments` });
  if (state.manifest) checkComposite(context, state.manifest, findings);
  const databases = attachments.map((attachment) => checkDatabase(context.dir, attachment, expectations, full));
  const worstSeverity = [...findings, ...databases.flatMap((d) => d.findings)].reduce<Severity>(
    (worst, f) => (SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst] ? f.severity : worst),
    'ok',
  );
  return { context: context.name, checkedAt: new Date().toISOString(), full, status: state.status, attachmentCount: attachments.length, worstSeverity, databases, findings };
}
