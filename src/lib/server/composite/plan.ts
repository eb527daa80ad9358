/**
 * What a composite.sql means once parsed and validated: the shape every later step
 * (regeneration, connection, health) works from. Nothing here touches the disk.
 */

export interface SourceLocation {
  /** Path of composite.sql as shown to people (relative to the volume where possible). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** A thing composite.sql says that we refuse, with where and what to write instead. */
export interface CompositeProblem extends SourceLocation {
  message: string;
}

export interface PlannedAttachment {
  /** Logical schema name: `qualityfolio` in `ATTACH 'qualityfolio.sqlite.db' AS qualityfolio`. */
  name: string;
  /** The path as written: relative to the context folder. */
  path: string;
  location: SourceLocation;
}

/** Pragmas applied on every composite connection. */
export interface ConnectionPragma {
  name: string;
  value: string | number;
  location: SourceLocation;
}

/**
 * `journal_mode` and `synchronous` describe the attached databases; a composite only
 * reads, so they are checked by health and never applied.
 */
export interface PragmaExpectation {
  name: 'journal_mode' | 'synchronous';
  /** Lower-cased as SQLite reports it: `wal`, `delete`, `full`, `normal`, ... */
  value: string;
  /** Set when the pragma was schema-qualified (`PRAGMA qualityfolio.journal_mode = wal`). */
  schema: string | null;
  location: SourceLocation;
}

/** Text of a `-- @description` or `-- @column name:` comment, with the line it stands on. */
export interface DescriptionComment {
  text: string;
  line: number;
}

export interface PlannedView {
  name: string;
  /** The SELECT (or WITH ... SELECT) body, exactly as written. */
  selectSql: string;
  location: SourceLocation;
  /** From the `-- @description …` comment right above CREATE VIEW; null without one. */
  description: DescriptionComment | null;
  /** From `-- @column name: …` comments right above CREATE VIEW, by column name. */
  columnDescriptions: Record<string, DescriptionComment>;
}

/** A `CREATE INDEX` on an attached table: expected to exist, reported by health, never created. */
export interface ExpectedIndex {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  unique: boolean;
  location: SourceLocation;
}

/**
 * `-- @fts schema.table: index`: the FTS5 table that indexes an attached table, for an
 * index not named `<table>_fts` (the sqlite-utils convention, found without declaring).
 */
export interface DeclaredSearchIndex {
  schema: string;
  table: string;
  fts: string;
  location: SourceLocation;
}

export interface CompositePlan {
  attachments: PlannedAttachment[];
  connectionPragmas: ConnectionPragma[];
  expectations: PragmaExpectation[];
  views: PlannedView[];
  expectedIndexes: ExpectedIndex[];
  searchIndexes: DeclaredSearchIndex[];
}

export type ParseResult = { ok: true; plan: CompositePlan } | { ok: false; problems: CompositeProblem[] };

/** SQLITE_MAX_ATTACHED in better-sqlite3's build. */
export const MAX_ATTACHMENTS = 10;

/**
 * The most a composite.sql may hold. A composite names at most ten databases and the views
 * people read; 10 MB (100,000 views) froze the server and then ran it out of heap, and the
 * command line spent ten minutes on it. Beyond these the file is refused at the line where
 * the limit is passed, before any parsing.
 */
export const MAX_COMPOSITE_SQL_BYTES = 512 * 1024;
export const MAX_COMPOSITE_STATEMENTS = 2_000;

/** Connection pragmas composite.sql may set, with the values each accepts. */
export const CONNECTION_PRAGMAS: Record<string, { describe: string; accepts: (value: string | number) => boolean }> = {
  busy_timeout: { describe: 'milliseconds, 0 to 60000', accepts: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 60_000 },
  cache_size: { describe: 'pages (positive) or KiB (negative), -1048576 to 1048576', accepts: (v) => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 1_048_576 },
  temp_store: { describe: 'default, file or memory (or 0, 1, 2)', accepts: (v) => ['default', 'file', 'memory', 0, 1, 2].includes(typeof v === 'string' ? v.toLowerCase() : v) },
  mmap_size: { describe: 'bytes, 0 to 1073741824', accepts: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1_073_741_824 },
  query_only: { describe: 'on/off (the composite is read-only either way)', accepts: (v) => ['on', 'off', 'true', 'false', 0, 1].includes(typeof v === 'string' ? v.toLowerCase() : v) },
  threads: { describe: 'helper threads, 0 to 8', accepts: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 8 },
};

export const EXPECTATION_PRAGMAS: Record<PragmaExpectation['name'], string[]> = {
  journal_mode: ['delete', 'truncate', 'persist', 'memory', 'wal', 'off'],
  synchronous: ['off', 'normal', 'full', 'extra', '0', '1', '2', '3'],
};

/** Names no attachment may take. */
export const RESERVED_SCHEMA_NAMES = ['main', 'temp'];
