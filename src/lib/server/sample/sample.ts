import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ProblemError } from '../core/errors.ts';
import { DATABASE_SUFFIX, COMPOSITE_SQL_FILE } from '../volume/contexts.ts';
import { MAX_ATTACHMENTS } from '../composite/plan.ts';
import { FINDINGS_COLUMNS, FINDINGS_VIEW, SEVERITIES, STATUSES } from '../query/findings.ts';

const quotedList = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ');

/** The shared findings table; area databases add their own columns (test_case_id, asset_id) after these. */
export const FINDINGS_TABLE_SQL = `CREATE TABLE findings (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN (${quotedList(SEVERITIES)})),
  status TEXT NOT NULL CHECK (status IN (${quotedList(STATUSES)})),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);`;

/**
 * A full-text index on findings titles as sqlite-utils creates it (`enable-fts
 * --create-triggers`): the console searches it with `?_search=`, the triggers keep it current.
 */
export const FINDINGS_FTS_SQL = `CREATE VIRTUAL TABLE findings_fts USING fts5(title, content='findings', content_rowid='id');
INSERT INTO findings_fts(findings_fts) VALUES ('rebuild');
CREATE TRIGGER findings_ai AFTER INSERT ON findings BEGIN
  INSERT INTO findings_fts(rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER findings_ad AFTER DELETE ON findings BEGIN
  INSERT INTO findings_fts(findings_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER findings_au AFTER UPDATE ON findings BEGIN
  INSERT INTO findings_fts(findings_fts, rowid, title) VALUES ('delete', old.id, old.title);
  INSERT INTO findings_fts(rowid, title) VALUES (new.id, new.title);
END;`;

/** Newest-first pages over `all_findings` merge these indexes instead of sorting every row. */
export const FINDINGS_INDEX_SQL = 'CREATE INDEX idx_findings_created_at ON findings(created_at);';

export const FINDINGS_DDL = `${FINDINGS_TABLE_SQL}\n${FINDINGS_INDEX_SQL}\n`;

/** `CREATE VIEW all_findings` over the findings tables of the given attachments, with a `source` column. */
export function allFindingsViewSql(attachments: readonly string[]): string {
  const columns = FINDINGS_COLUMNS.join(', ');
  const arms = attachments.map((name) => `  SELECT '${name}' AS source, ${columns} FROM ${name}.findings`);
  return `CREATE VIEW ${FINDINGS_VIEW} AS\n${arms.join('\n  UNION ALL\n')};`;
}

/** A committed seed that SQLite refuses; names the seed file so it can be fixed. */
export class SampleSeedError extends Error {
  constructor(
    readonly seedFile: string,
    reason: string,
  ) {
    super(`${seedFile}: ${reason}; fix the seed and build the sample volume again`);
    this.name = 'SampleSeedError';
  }
}

/** An option of generateSyntheticVolume that cannot be used; names the option. */
export class SampleOptionError extends ProblemError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('bad_option', message, 400);
  }
}

/**
 * Builds a database into a temporary file in the target's folder and renames it into place
 * only when complete, so a reader never sees a half-built database. Durability during the
 * build does not matter (a failed build is thrown away), so it runs with synchronous off and
 * makes the result durable once, before the rename.
 */
function buildDatabase(target: string, build: (db: Database.Database) => void): void {
  const temporary = `${target}.building-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const leftovers = (file: string) => ['-wal', '-shm', '-journal'].map((suffix) => `${file}${suffix}`);
  const db = new Database(temporary);
  try {
    db.pragma('synchronous = OFF');
    build(db);
    // Closing the last connection checkpoints a WAL database and removes its -wal and -shm.
    db.close();
    const fd = fs.openSync(temporary, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // A -wal left by the replaced database would be replayed into the new one.
    for (const file of leftovers(target)) fs.rmSync(file, { force: true });
    fs.renameSync(temporary, target);
  } catch (error) {
    if (db.open) db.close();
    for (const file of [temporary, ...leftovers(temporary)]) fs.rmSync(file, { force: true });
    throw error;
  }
}

function seedFiles(seedDir: string): string[] {
  if (!fs.existsSync(seedDir)) return [];
  return (fs.readdirSync(seedDir, { recursive: true, encoding: 'utf8' }) as string[]).filter((file) => file.endsWith('.sql')).sort();
}

/**
 * Builds the sample volume's databases from the committed seeds: `seed/<context>/<name>.sql`
 * becomes `embedded/<context>/<name>.sqlite.db` when it is missing, older than its seed, or
 * `force` is set. A seed sets its own journal mode (`PRAGMA journal_mode = wal;`) and holds
 * literal rows, so the same seed text always gives the same rows. A findings table gets
 * its full-text index (FINDINGS_FTS_SQL).
 */
export function buildSampleVolume(volumeDir: string, options: { force?: boolean } = {}): { built: string[]; skipped: string[] } {
  const seedDir = path.join(volumeDir, 'seed');
  const built: string[] = [];
  const skipped: string[] = [];
  for (const seed of seedFiles(seedDir)) {
    const source = path.join(seedDir, seed);
    const target = path.join(volumeDir, 'embedded', seed.replace(/\.sql$/, DATABASE_SUFFIX));
    const relativeTarget = path.relative(volumeDir, target);
    const upToDate = fs.existsSync(target) && fs.statSync(target).mtimeMs >= fs.statSync(source).mtimeMs;
    if (upToDate && !options.force) {
      skipped.push(relativeTarget);
      continue;
    }
    const sql = fs.readFileSync(source, 'utf8');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    buildDatabase(target, (db) => {
      try {
        db.exec(sql);
        // Every seeded findings table is searchable from the first start.
        if (db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'findings'").get()) db.exec(FINDINGS_FTS_SQL);
      } catch (error) {
        if (error instanceof Database.SqliteError) throw new SampleSeedError(path.relative(volumeDir, source), error.message);
        throw error;
      }
    });
    built.push(relativeTarget);
  }
  return { built, skipped };
}

export interface SyntheticVolumeOptions {
  out: string;
  tenants: number;
  dbsPerTenant: number;
  rows: number;
  seed: number;
  /** Called after each tenant is written. */
  onProgress?: (tenantsDone: number, tenantsTotal: number) => void;
}

/** The accepted range of each numeric option; tenant ids have five digits. */
export const SYNTHETIC_LIMITS = {
  tenants: { min: 1, max: 99_999, why: '' },
  dbsPerTenant: { min: 1, max: MAX_ATTACHMENTS, why: ` (SQLite attaches at most ${MAX_ATTACHMENTS} databases per connection)` },
  rows: { min: 0, max: 10_000_000, why: '' },
  seed: { min: 0, max: 2 ** 32 - 1, why: '' },
} as const;

/** Marks a folder as generated here, so a later run may replace what it wrote and nothing else. */
const SYNTHETIC_MARKER = '.truth-yard-synthetic';

function validate(options: SyntheticVolumeOptions): void {
  if (typeof options.out !== 'string' || options.out.trim() === '') throw new SampleOptionError('out', 'out must name the folder to create the volume in');
  for (const [option, { min, max, why }] of Object.entries(SYNTHETIC_LIMITS)) {
    const value = options[option as keyof typeof SYNTHETIC_LIMITS];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new SampleOptionError(option, `${option} must be a whole number from ${min} to ${max}${why}, got ${value}`);
    }
  }
}

/** Empties a previous synthetic volume; refuses anything else that is not empty. */
function prepareOutFolder(out: string): void {
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new SampleOptionError('out', `${out} is a file, not a folder; choose an empty or new folder (nothing was written)`);
    const entries = fs.readdirSync(out);
    if (entries.length > 0 && !entries.includes(SYNTHETIC_MARKER)) {
      throw new SampleOptionError('out', `${out} is not empty and was not made by yard sample; choose an empty or new folder so no data is overwritten (nothing was written)`);
    }
    // Only what a previous run wrote goes; anything else kept there (console state) stays.
    fs.rmSync(path.join(out, 'embedded'), { recursive: true, force: true });
  }
  fs.mkdirSync(out, { recursive: true });
}

/** mulberry32: tiny, fast and the same on every machine, unlike Math.random. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One random stream per database, derived from the seed and the database's place, so a
 * database's rows do not depend on how many tenants or rows came before it.
 */
function randomFor(seed: number, place: string): () => number {
  return randomSource(crypto.createHash('sha256').update(`${seed}/${place}`).digest().readUInt32LE(0));
}

function weightedPicker<T>(values: readonly T[], weights: readonly number[]): (r: number) => T {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let cumulative = 0;
  const bounds = weights.map((weight) => (cumulative += weight / total));
  return (r) => values[bounds.findIndex((bound) => r < bound)] ?? values[values.length - 1];
}

const TITLES = [
  'Outdated OpenSSL on host-{n}',
  'Disk encryption off on laptop-{n}',
  'Critical CVE in base image of service-{n}',
  'Assertion failed in checkout flow #{n}',
  'Flaky test: search paginates results #{n}',
  'Open port 23 on switch-{n}',
  'Missing EDR agent on host-{n}',
  'Permission check missing in reports #{n}',
];

/** Findings spread over December 2025 to November 2026, in id order, like an append-only log. */
const PERIOD_START = Date.UTC(2025, 11, 1);
const PERIOD_END = Date.UTC(2026, 11, 1) - 1000;
const DAY = 86_400_000;

const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const dayPrefixes = new Map<number, string>();

/** `2026-03-01T12:00:00Z`. Date#toISOString dominates at millions of rows, so each day's prefix is formatted once. */
function isoSeconds(ms: number): string {
  const day = Math.floor(ms / DAY);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  const seconds = Math.floor((ms - day * DAY) / 1000);
  return `${prefix}${TWO_DIGITS[Math.floor(seconds / 3600)]}:${TWO_DIGITS[Math.floor(seconds / 60) % 60]}:${TWO_DIGITS[seconds % 60]}Z`;
}

/** Rows per INSERT: one native call per row costs more than SQLite's own work. */
const INSERT_BATCH = 50;
const insertFindingsSql = (rows: number) =>
  `INSERT INTO findings (${FINDINGS_COLUMNS.join(', ')}) VALUES ${Array(rows).fill(`(${FINDINGS_COLUMNS.map(() => '?').join(', ')})`).join(', ')}`;

function fillFindings(db: Database.Database, rows: number, next: () => number): void {
  db.exec(FINDINGS_TABLE_SQL);
  // Values come from SEVERITIES and STATUSES by construction; evaluating the CHECKs for
  // every row would double the load time of a large volume.
  db.pragma('ignore_check_constraints = ON');
  const weights = SEVERITIES.map(() => 1 + Math.floor(next() * 10));
  const severity = weightedPicker(SEVERITIES, weights);
  const insertBatch = db.prepare(insertFindingsSql(INSERT_BATCH));
  const insertOne = db.prepare(insertFindingsSql(1));
  const pending: Array<string | number> = [];
  const step = (PERIOD_END - PERIOD_START) / Math.max(rows, 1);
  db.transaction(() => {
    for (let id = 1; id <= rows; id += 1) {
      const created = Math.floor(PERIOD_START + (id - 1 + next()) * step);
      // Older findings are more likely closed; closing takes up to 45 days.
      const closed = next() < Math.min(0.9, (PERIOD_END - created) / (200 * DAY));
      const status = closed ? (next() < 0.15 ? 'accepted' : 'resolved') : next() < 0.4 ? 'in_progress' : 'open';
      const updated = status === 'open' ? created : Math.min(PERIOD_END, created + Math.floor(next() * 45 * DAY));
      const title = TITLES[Math.floor(next() * TITLES.length)].replace('{n}', String(1 + Math.floor(next() * 9999)).padStart(4, '0'));
      pending.push(id, title, severity(next()), status, isoSeconds(created), isoSeconds(updated));
      if (pending.length === INSERT_BATCH * FINDINGS_COLUMNS.length) {
        insertBatch.run(pending);
        pending.length = 0;
      }
    }
    for (let at = 0; at < pending.length; at += FINDINGS_COLUMNS.length) insertOne.run(pending.slice(at, at + FINDINGS_COLUMNS.length));
  })();
  // Built after the rows: one sort instead of a b-tree insert per row.
  db.exec(FINDINGS_INDEX_SQL);
}

function writeContext(dir: string, compositeSql: string, databases: Array<[name: string, build: (db: Database.Database) => void]>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, build] of databases) buildDatabase(path.join(dir, `${name}${DATABASE_SUFFIX}`), build);
  fs.writeFileSync(path.join(dir, COMPOSITE_SQL_FILE), compositeSql);
}

const tenantId = (n: number) => `t${String(n).padStart(5, '0')}`;

function compositeHeader(title: string, seed: number): string[] {
  return [
    `-- ${title}`,
    `-- Synthetic: generated by \`yard sample --seed ${seed}\`; regenerate rather than edit.`,
    'PRAGMA busy_timeout = 5000;',
    'PRAGMA cache_size = -8000;',
    'PRAGMA temp_store = memory;',
    'PRAGMA journal_mode = delete;',
    '',
  ];
}

function tenantCompositeSql(id: string, areas: string[], rows: number, seed: number): string {
  return [
    ...compositeHeader(`Tenant ${id}: ${areas.length} database(s) of ${rows} findings each.`, seed),
    ...areas.map((area) => `ATTACH DATABASE '${area}${DATABASE_SUFFIX}' AS ${area};`),
    '',
    allFindingsViewSql(areas),
    '',
    `CREATE VIEW open_findings AS\n  SELECT * FROM all_findings WHERE status IN ('open', 'in_progress');`,
    '',
    ...areas.map((area) => `CREATE INDEX ${area}.idx_findings_created_at ON findings(created_at);`),
    '',
  ].join('\n');
}

function platformDatabase(tenants: number): (db: Database.Database) => void {
  return (db) => {
    db.exec('CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, onboarded_at TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO tenants VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let n = 1; n <= tenants; n += 1) insert.run(tenantId(n), `Synthetic tenant ${n}`, isoSeconds(PERIOD_START));
    })();
  };
}

function controlsDatabase(next: () => number): (db: Database.Database) => void {
  const frameworks = ['NIST SP 800-53', 'SOC 2', 'ISO/IEC 27001'];
  return (db) => {
    db.exec('CREATE TABLE controls (id TEXT PRIMARY KEY, framework TEXT NOT NULL, title TEXT NOT NULL, weight INTEGER NOT NULL)');
    const insert = db.prepare('INSERT INTO controls VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (let n = 1; n <= 60; n += 1) insert.run(`C-${String(n).padStart(3, '0')}`, frameworks[n % frameworks.length], `Synthetic control ${n}`, 1 + Math.floor(next() * 5));
    })();
  };
}

/**
 * A synthetic volume for tests and benchmarks: `tenants` tenants (t00001, …), each with
 * `dbsPerTenant` databases of `rows` findings and a composite.sql whose `all_findings`
 * unions them, plus an admin context (a tenants registry) and a cross-tenant context (a
 * controls catalog). The same options give the same rows on any machine. Writes only into a
 * new or empty folder, or over a volume this function generated before.
 */
export function generateSyntheticVolume(options: SyntheticVolumeOptions): { contexts: number; databases: number } {
  validate(options);
  const out = path.resolve(options.out);
  prepareOutFolder(out);
  const { tenants, dbsPerTenant, rows, seed } = options;
  fs.writeFileSync(path.join(out, SYNTHETIC_MARKER), JSON.stringify({ generator: 'yard sample', tenants, dbsPerTenant, rows, seed }) + '\n');
  const embedded = path.join(out, 'embedded');

  writeContext(
    path.join(embedded, 'admin'),
    [...compositeHeader('Admin: the registry of synthetic tenants.', seed), "ATTACH DATABASE 'platform.sqlite.db' AS platform;", '', 'CREATE VIEW tenant_directory AS\n  SELECT id, name, onboarded_at FROM platform.tenants;', ''].join('\n'),
    [['platform', platformDatabase(tenants)]],
  );
  writeContext(
    path.join(embedded, 'cross-tenant'),
    [...compositeHeader('Cross-tenant: a synthetic controls catalog.', seed), "ATTACH DATABASE 'controls.sqlite.db' AS controls;", '', 'CREATE VIEW controls_by_framework AS\n  SELECT framework, count(*) AS controls, sum(weight) AS total_weight FROM controls.controls GROUP BY framework;', ''].join('\n'),
    [['controls', controlsDatabase(randomFor(seed, 'cross-tenant/controls'))]],
  );

  const areas = Array.from({ length: dbsPerTenant }, (_, i) => `area${String(i + 1).padStart(2, '0')}`);
  for (let n = 1; n <= tenants; n += 1) {
    const id = tenantId(n);
    writeContext(
      path.join(embedded, 'tenant', id),
      tenantCompositeSql(id, areas, rows, seed),
      areas.map((area) => [area, (db) => fillFindings(db, rows, randomFor(seed, `tenant/${id}/${area}`))]),
    );
    options.onProgress?.(n, tenants);
  }
  return { contexts: tenants + 2, databases: tenants * dbsPerTenant + 2 };
}
