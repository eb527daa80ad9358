import crypto from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { formatBytes } from '../core/format.ts';
import { autoDbPath, compositeSqlPath, listDatabaseFiles, type VolumeContext } from '../volume/contexts.ts';
import { compositeState, type CompositeState, type CompositeStatus } from './status.ts';
import { leftoverCandidates } from './regenerate.ts';
import { connectComposite, quoteIdentifier, viewCompileError } from './connect.ts';
import { resolveAttachPath } from './attach-targets.ts';
import { parseCompositeSql } from './parse.ts';
import { MAX_ATTACHMENTS } from './plan.ts';
import type { CompositeManifest } from './manifest.ts';

export type HealthSeverity = 'ok' | 'warn' | 'error';

export interface HealthFinding {
  /** `composite` or the attachment's name. */
  subject: string;
  /** What was checked: `exists`, `header`, `quick_check`, `integrity_check`, `journal_mode`, `view`, `index`, ... */
  check: string;
  severity: HealthSeverity;
  /** A sentence a person can act on. */
  message: string;
}

export interface DatabaseHealth {
  name: string;
  /** As composite.sql writes it, relative to the context folder. */
  path: string;
  exists: boolean;
  /** Opened read-only and its schema read. */
  readable: boolean;
  sizeBytes: number | null;
  walBytes: number | null;
  pageSize: number | null;
  pageCount: number | null;
  freelistPages: number | null;
  journalMode: string | null;
  /** sha256 of the schema's SQL statements, sorted: tells schema changes apart from data changes. */
  schemaFingerprint: string | null;
  /** Last write, counting the write-ahead log, where writes land before a checkpoint. */
  modifiedAt: string | null;
  findings: HealthFinding[];
}

export interface HealthReport {
  context: string;
  checkedAt: string;
  full: boolean;
  status: CompositeStatus;
  attachmentCount: number;
  worstSeverity: HealthSeverity;
  databases: DatabaseHealth[];
  /** Findings about the composite as a whole. */
  findings: HealthFinding[];
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** The database header is the first 100 bytes of page 1. */
const HEADER_BYTES = 100;
const SEVERITY_RANK: Record<HealthSeverity, number> = { ok: 0, warn: 1, error: 2 };
/** A freelist above this share of the pages is space VACUUM would give back. */
const FREELIST_WARN_SHARE = 0.25;
/** A write-ahead log this large means checkpoints are not keeping up (SQLite's default checkpoints near 4 MiB). */
export const WAL_WARN_BYTES = 64 * 1024 * 1024;
/** Damage is reported, not catalogued: the first few problems tell a person to restore. */
const INTEGRITY_PROBLEM_LIMIT = 10;

type Expectation = CompositeManifest['expectations'][number];
type ExpectedIndex = CompositeManifest['expectedIndexes'][number];
type AttachmentToCheck = { name: string; path: string };

interface AttachmentSelection {
  attachments: AttachmentToCheck[];
  expectations: Expectation[];
  /** Where the list came from, for the `attachments` finding. */
  finding: Omit<HealthFinding, 'subject' | 'check'>;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Which databases to check: the manifest's when the composite is readable, else what
 * composite.sql says, else every database in the folder, so a context whose composite
 * cannot be built still gets its databases checked.
 */
function selectAttachments(context: VolumeContext, manifest: CompositeManifest | null): AttachmentSelection {
  const limit = `at most ${MAX_ATTACHMENTS} per connection`;
  if (manifest) {
    return {
      attachments: manifest.attachments,
      expectations: manifest.expectations,
      finding: { severity: 'ok', message: `${manifest.attachments.length} attached databases (${limit})` },
    };
  }
  let whyNotComposite: string;
  try {
    const parsed = parseCompositeSql(fs.readFileSync(compositeSqlPath(context), 'utf8'), 'composite.sql');
    if (parsed.ok) {
      return {
        attachments: parsed.plan.attachments,
        expectations: parsed.plan.expectations,
        finding: { severity: 'ok', message: `the composite is not readable, so the ${parsed.plan.attachments.length} databases composite.sql attaches were checked (${limit})` },
      };
    }
    const first = parsed.problems[0];
    whyNotComposite = `composite.sql is not valid (${first.file}:${first.line}:${first.column}: ${first.message}); fix it and regenerate`;
  } catch (error) {
    whyNotComposite = `composite.sql cannot be read (${errorMessage(error)}); restore it and regenerate`;
  }
  let files: string[] = [];
  try {
    files = listDatabaseFiles(context);
  } catch (error) {
    whyNotComposite += `; the folder cannot be listed either: ${errorMessage(error)}`;
  }
  return {
    attachments: files.map((file) => ({ name: file.replace(/\.sqlite\.db$/, ''), path: file })),
    expectations: [],
    finding: { severity: 'warn', message: `${whyNotComposite}. Meanwhile every database in the folder was checked (${files.length})` },
  };
}

/** The file's first bytes, read without SQLite so a garbage file cannot confuse anything. */
function readHeader(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    return header.subarray(0, fs.readSync(fd, header, 0, HEADER_BYTES, 0));
  } finally {
    fs.closeSync(fd);
  }
}

function describeStart(bytes: Buffer): string {
  if (bytes.length === 0) return 'the file is empty';
  const printable = [...bytes.subarray(0, SQLITE_MAGIC.length)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `it starts with "${printable}" instead of "SQLite format 3"`;
}

/**
 * Bytes the header says the database spans, when the header's own size field is valid
 * (its change counter matches the version-valid-for number); null when it cannot tell.
 */
function declaredBytes(header: Buffer): number | null {
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pageCount = header.readUInt32BE(28);
  const sizeIsValid = pageCount > 0 && header.readUInt32BE(24) === header.readUInt32BE(92);
  return sizeIsValid ? pageCount * pageSize : null;
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

function schemaFingerprint(db: Database.Database): string {
  const statements = (db.prepare('SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL').all() as Array<{ sql: string }>).map((row) => row.sql).sort();
  return crypto.createHash('sha256').update(statements.join('\n')).digest('hex');
}

function integrityFailure(path: string, error: unknown, truncation: string): string {
  const code = (error as { code?: string }).code;
  if (code === 'SQLITE_READONLY_ROLLBACK') {
    return `${path} has an unfinished transaction in ${path}-journal that a read-only check cannot roll back: open it once with the application that owns it (which rolls it back), then check again`;
  }
  const what = code === 'SQLITE_CORRUPT' ? 'is damaged' : code === 'SQLITE_NOTADB' ? 'is not a database' : 'cannot be checked';
  return `${path} ${what} (${errorMessage(error)})${truncation}; restore it from a backup`;
}

function uncheckedDatabase(attachment: AttachmentToCheck): DatabaseHealth {
  return {
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
}

/** Checks one database through a read-only connection; every problem becomes a finding. */
function checkDatabase(contextDir: string, attachment: AttachmentToCheck, expectations: Expectation[], full: boolean): DatabaseHealth {
  const health = uncheckedDatabase(attachment);
  const finding = (check: string, severity: HealthSeverity, message: string) => health.findings.push({ subject: attachment.name, check, severity, message });
  const file = attachment.path;

  // resolveAttachPath only reads the file system; SQLite is never pointed at a missing file.
  const target = resolveAttachPath(contextDir, file);
  const stat = target.ok ? statOrNull(target.absolutePath) : null;
  if (!target.ok || !stat) {
    finding('exists', 'error', target.ok ? `${file} disappeared while it was being checked; restore it or remove its ATTACH` : target.message);
    return health;
  }
  health.exists = true;
  const wal = statOrNull(`${target.absolutePath}-wal`);
  health.sizeBytes = stat.size;
  health.walBytes = wal?.size ?? null;
  health.modifiedAt = new Date(Math.max(stat.mtime.getTime(), wal?.mtime.getTime() ?? 0)).toISOString();
  finding('exists', 'ok', `${file} exists (${formatBytes(stat.size)})`);

  let header: Buffer;
  try {
    header = readHeader(target.absolutePath);
  } catch (error) {
    finding('readable', 'error', `${file} cannot be read (${errorMessage(error)}); give the console read permission on it`);
    return health;
  }
  if (header.length < SQLITE_MAGIC.length || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    finding('header', 'error', `${file} is not a valid SQLite database (${describeStart(header)}): restore it from a backup`);
    return health;
  }
  if (header.length < HEADER_BYTES) {
    finding('header', 'error', `${file} is not a valid SQLite database (only ${header.length} bytes, shorter than a SQLite header): restore it from a backup`);
    return health;
  }
  finding('header', 'ok', 'valid SQLite header');
  const declared = declaredBytes(header);
  const truncation = declared !== null && stat.size < declared ? `; the file has ${stat.size} of the ${declared} bytes its header describes, as if a copy was cut short` : '';

  const integrityCheck = full ? 'integrity_check' : 'quick_check';
  let db: Database.Database | undefined;
  try {
    // Read-only, and fileMustExist so a race with a deletion cannot create an empty file;
    // no busy wait, because the web runs this on the server's thread.
    db = new Database(target.absolutePath, { readonly: true, fileMustExist: true, timeout: 0 });
    let damaged = false;
    try {
      const results = (db.pragma(`${integrityCheck}(${INTEGRITY_PROBLEM_LIMIT})`) as Array<Record<string, string>>).map((row) => Object.values(row)[0]);
      damaged = !(results.length === 1 && results[0] === 'ok');
      if (damaged) finding(integrityCheck, 'error', `${integrityCheck} found damage in ${file}: ${results.slice(0, 3).join('; ')}${truncation}; restore it from a backup`);
      else finding(integrityCheck, 'ok', `${integrityCheck} passed`);
    } catch (error) {
      damaged = true;
      finding(integrityCheck, 'error', integrityFailure(file, error, truncation));
    }

    try {
      health.pageSize = db.pragma('page_size', { simple: true }) as number;
      health.pageCount = db.pragma('page_count', { simple: true }) as number;
      health.freelistPages = db.pragma('freelist_count', { simple: true }) as number;
      health.journalMode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
      health.schemaFingerprint = schemaFingerprint(db);
      health.readable = true;
    } catch (error) {
      // A damaged file already has its error; a second one would say the same thing.
      if (!damaged) finding('readable', 'error', `${file} cannot be read as a database (${errorMessage(error)}); restore it from a backup`);
      return health;
    }
  } catch (error) {
    finding('readable', 'error', `${file} cannot be opened read-only (${errorMessage(error)}); check its permissions and that no application holds it locked`);
    return health;
  } finally {
    db?.close();
  }

  const applies = (expectation: Expectation) => expectation.schema === null || expectation.schema.toLowerCase() === attachment.name.toLowerCase();
  for (const expectation of expectations.filter(applies)) {
    if (expectation.name === 'journal_mode') {
      if (health.journalMode === expectation.value.toLowerCase()) finding('journal_mode', 'ok', `journal mode is ${health.journalMode} as composite.sql expects`);
      else {
        finding(
          'journal_mode',
          'warn',
          `${file} is in journal mode ${health.journalMode}, composite.sql expects ${expectation.value}: set PRAGMA journal_mode = ${expectation.value} from the application that owns it (the console never changes it), or change the expectation in composite.sql`,
        );
      }
    } else {
      // synchronous lives on each writer's connection and is stored nowhere in the file.
      finding('synchronous', 'ok', `synchronous = ${expectation.value} is expected of the applications writing ${file}; it is a per-connection setting, not stored in the file, so it cannot be checked here`);
    }
  }

  if (health.walBytes !== null) {
    if (health.walBytes > WAL_WARN_BYTES) {
      finding('wal_size', 'warn', `the write-ahead log of ${file} is ${formatBytes(health.walBytes)}: checkpoints are not keeping up; end long-running readers and run PRAGMA wal_checkpoint(TRUNCATE) from the owning application`);
    } else finding('wal_size', 'ok', `write-ahead log is ${formatBytes(health.walBytes)}`);
  }

  const pageCount = health.pageCount ?? 0;
  const freelistPages = health.freelistPages ?? 0;
  if (pageCount > 0 && freelistPages / pageCount > FREELIST_WARN_SHARE) {
    finding('freelist', 'warn', `${freelistPages} of ${pageCount} pages of ${file} are free: run VACUUM on it from the owning application to give the space back`);
  } else finding('freelist', 'ok', `${freelistPages} of ${pageCount} pages free`);
  return health;
}

/** Name of an index on the expected table: the expected name, or any index whose leading columns are the expected ones. */
function findExpectedIndex(db: Database.Database, index: ExpectedIndex): string | null {
  const schema = quoteIdentifier(index.schema);
  const byName = db
    .prepare(`SELECT name FROM ${schema}.sqlite_schema WHERE type = 'index' AND name = ? COLLATE NOCASE AND tbl_name = ? COLLATE NOCASE`)
    .get(index.name, index.table) as { name: string } | undefined;
  if (byName) return byName.name;
  const wanted = index.columns.map((column) => column.toLowerCase());
  const candidates = db.pragma(`${schema}.index_list(${quoteIdentifier(index.table)})`) as Array<{ name: string; unique: number; partial: number }>;
  for (const candidate of candidates) {
    if (candidate.partial || (index.unique && !candidate.unique)) continue;
    const columns = (db.pragma(`${schema}.index_info(${quoteIdentifier(candidate.name)})`) as Array<{ name: string | null }>).map((c) => c.name?.toLowerCase());
    // A unique index only enforces uniqueness over exactly its own columns.
    if (index.unique && columns.length !== wanted.length) continue;
    if (wanted.every((column, i) => columns[i] === column)) return candidate.name;
  }
  return null;
}

/** Views compile and expected indexes exist, checked through the composite opened as the app opens it. */
function checkServingComposite(context: VolumeContext, manifest: CompositeManifest, findings: HealthFinding[]): void {
  const finding = (check: string, severity: HealthSeverity, message: string) => findings.push({ subject: 'composite', check, severity, message });
  let connection;
  try {
    connection = connectComposite(context.name, context.dir, autoDbPath(context), { busyTimeoutMs: 0 });
  } catch (error) {
    finding('connect', 'error', `the composite cannot be opened, so its views and indexes were not checked: ${errorMessage(error)}`);
    return;
  }
  try {
    for (const view of manifest.views) {
      const error = viewCompileError(connection.db, view.name);
      if (error === null) finding('view', 'ok', `view ${view.name} compiles`);
      else finding('view', 'error', `view ${view.name} (composite.sql line ${view.line}) no longer compiles: ${error}; fix the view in composite.sql or the database it reads, then regenerate`);
    }
    for (const index of manifest.expectedIndexes) {
      const described = `${index.name} on ${index.schema}.${index.table}(${index.columns.join(', ')})`;
      const owner = manifest.attachments.find((a) => a.name.toLowerCase() === index.schema.toLowerCase())?.path ?? index.schema;
      let present: string | null;
      try {
        present = findExpectedIndex(connection.db, index);
      } catch (error) {
        finding('index', 'error', `expected index ${described} cannot be looked up: ${errorMessage(error)}`);
        continue;
      }
      if (present === null) finding('index', 'warn', `expected index ${described} is missing: create it in ${owner} (regeneration never creates indexes)`);
      else if (present.toLowerCase() === index.name.toLowerCase()) finding('index', 'ok', `expected index ${described} is present`);
      else finding('index', 'ok', `expected index ${described} is served by index ${present}`);
    }
  } finally {
    connection.db.close();
  }
}

function statusFinding(context: VolumeContext, state: CompositeState): HealthFinding {
  const finding = (severity: HealthSeverity, message: string): HealthFinding => ({ subject: 'composite', check: 'status', severity, message });
  switch (state.status) {
    case 'fresh':
      return finding('ok', `composite is fresh (generated ${state.manifest?.generatedAt})`);
    case 'stale':
      return finding('warn', `composite is stale: ${state.reasons.join('; ')}. Then run: yard regenerate ${context.name}`);
    case 'missing':
      return finding('warn', `composite is not generated: ${state.reasons.join('; ')}`);
    case 'broken':
      return finding('error', `composite is broken: ${state.reasons.join('; ')}`);
  }
}

function worstOf(findings: HealthFinding[]): HealthSeverity {
  return findings.reduce<HealthSeverity>((worst, f) => (SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst] ? f.severity : worst), 'ok');
}

/**
 * A health report of one context: every attached database (existence, header,
 * quick_check or integrity_check, journal mode, sizes, freelist, schema) and the composite
 * (status, views, attachments, expected indexes). Problems are findings, never exceptions.
 * Read-only throughout: no database is opened for writing and no file is created, apart
 * from the shared-memory index SQLite keeps beside a WAL database for any reader.
 */
export function checkHealth(context: VolumeContext, options: { full?: boolean } = {}): HealthReport {
  const full = options.full ?? false;
  const checkedAt = new Date().toISOString();
  let state: CompositeState;
  try {
    state = compositeState(context);
  } catch (error) {
    state = { context: context.name, status: 'broken', reasons: [`its state cannot be read: ${errorMessage(error)}`], manifest: null };
  }
  const findings: HealthFinding[] = [statusFinding(context, state)];
  const selection = selectAttachments(context, state.manifest);
  findings.push({ subject: 'composite', check: 'attachments', ...selection.finding });
  if (state.manifest) checkServingComposite(context, state.manifest, findings);
  const leftovers = leftoverCandidates(context);
  if (leftovers.length > 0) {
    findings.push({
      subject: 'composite',
      check: 'leftovers',
      severity: 'warn',
      message: `${leftovers.length} candidate ${leftovers.length === 1 ? 'file' : 'files'} of interrupted regenerations (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', …' : ''}) take disk space; the next regeneration removes them`,
    });
  }
  const databases = selection.attachments.map((attachment) => {
    try {
      return checkDatabase(context.dir, attachment, selection.expectations, full);
    } catch (error) {
      // Keeps one unforeseen failure from hiding the report on every other database.
      const health = uncheckedDatabase(attachment);
      health.findings.push({ subject: attachment.name, check: 'readable', severity: 'error', message: `${attachment.path} could not be checked: ${errorMessage(error)}` });
      return health;
    }
  });
  return {
    context: context.name,
    checkedAt,
    full,
    status: state.status,
    attachmentCount: selection.attachments.length,
    worstSeverity: worstOf([...findings, ...databases.flatMap((d) => d.findings)]),
    databases,
    findings,
  };
}
