import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_SUFFIX, COMPOSITE_SQL_FILE } from './contexts.ts';
import { MAX_ATTACHMENTS } from '../composite/plan.ts';

/** Builds a database atomically: a temporary file in the same folder, renamed into place when complete. */
function buildDatabase(target: string, build: (db: Database.Database) => void): void {
  const temporary = `${target}.building-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const db = new Database(temporary);
  try {
    build(db);
    // A WAL database is checkpointed and its -wal removed on close; nothing is left beside it.
    db.close();
    fs.renameSync(temporary, target);
  } catch (error) {
    if (db.open) db.close();
    for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${temporary}${suffix}`, { force: true });
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
 * `force` is set. Seeds are plain SQL, so rebuilding gives the same rows every time.
 */
export function buildSampleVolume(volumeDir: string, options: { force?: boolean } = {}): { built: string[]; skipped: string[] } {
  const seedDir = path.join(volumeDir, 'seed');
  const built: string[] = [];
  const skipped: string[] = [];
  for (const seed of seedFiles(seedDir)) {
    const source = path.join(seedDir, seed);
    const target = path.join(volumeDir, 'embedded', seed.replace(/\.sql$/, DATABASE_SUFFIX));
    const upToDate = fs.existsSync(target) && fs.statSync(target).mtimeMs >= fs.statSync(source).mtimeMs;
    if (upToDate && !options.force) {
      skipped.push(path.relative(volumeDir, target));
      continue;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${target}${suffix}`, { force: true });
    const sql = fs.readFileSync(source, 'utf8');
    buildDatabase(target, (db) => db.exec(sql));
    built.push(path.relative(volumeDir, target));
  }
  return { built, skipped };
}

/** An option of generateSyntheticVolume that is out of range; names the option. */
export class SampleOptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
    this.name = 'SampleOptionError';
  }
}

export interface SyntheticVolumeOptions {
  out: string;
  tenants: number;
  dbsPerTenant: number;
  rows: number;
  seed: number;
  onProgress?: (tenantsDone: number, tenantsTotal: number) => void;
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const STATUSES = ['open', 'in_progress', 'resolved', 'accepted'] as const;

/** The findings table every synthetic database has; the columns all_findings unions. */
export const FINDINGS_DDL = `
  CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX idx_findings_created_at ON findings(created_at);
`;
export const FINDINGS_COLUMNS = ['id', 'title', 'severity', 'status', 'created_at', 'updated_at'] as const;

/** Marks a folder as generated here, so a second run may replace it and nothing else. */
const SYNTHETIC_MARKER = '.truth-yard-synthetic';

/** mulberry32: tiny, fast and the same on every machine, unlike Math.random. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkRange(option: string, value: number, min: number, max: number, why = ''): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SampleOptionError(option, `${option} must be a whole number from ${min} to ${max}${why}, got ${value}`);
  }
}

function fillFindings(db: Database.Database, rows: number, next: () => number, label: string): void {
  db.exec(FINDINGS_DDL);
  const insert = db.prepare('INSERT INTO findings (id, title, severity, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
  const start = Date.UTC(2025, 11, 1);
  const span = 355 * 86_400_000;
  db.transaction(() => {
    for (let id = 1; id <= rows; id += 1) {
      const created = new Date(start + Math.floor(next() * span)).toISOString().slice(0, 19) + 'Z';
      insert.run(id, `${label} finding ${id}`, SEVERITIES[Math.floor(next() * SEVERITIES.length)], STATUSES[Math.floor(next() * STATUSES.length)], created, created);
    }
  })();
}

function allFindingsView(aliases: string[]): string {
  const columns = FINDINGS_COLUMNS.join(', ');
  return `CREATE VIEW all_findings AS\n${aliases.map((alias) => `  SELECT '${alias}' AS source, ${columns} FROM ${alias}.findings`).join('\n  UNION ALL\n')};\n`;
}

function compositeSql(aliases: string[]): string {
  return [
    '-- Generated by `yard sample`.',
    'PRAGMA busy_timeout = 5000;',
    ...aliases.map((alias) => `ATTACH DATABASE '${alias}${DATABASE_SUFFIX}' AS ${alias};`),
    allFindingsView(aliases),
  ].join('\n');
}

/**
 * A synthetic volume for tests and benchmarks: admin and cross-tenant contexts with one
 * database each, and `tenants` tenants (t00001, …) with `dbsPerTenant` databases of `rows`
 * findings and an all_findings view. The same options give the same rows on any machine.
 * Refuses to write into a folder it did not generate, so it can never overwrite real data.
 */
export function generateSyntheticVolume(options: SyntheticVolumeOptions): { contexts: number; databases: number } {
  checkRange('tenants', options.tenants, 0, 100_000);
  checkRange('dbsPerTenant', options.dbsPerTenant, 1, MAX_ATTACHMENTS, ' (SQLite attaches at most 10 databases per connection)');
  checkRange('rows', options.rows, 0, 50_000_000);
  checkRange('seed', options.seed, 0, 2 ** 32 - 1);
  const out = path.resolve(options.out);
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    if (!fs.existsSync(path.join(out, SYNTHETIC_MARKER))) {
      throw new SampleOptionError('out', `${out} is not empty and was not made by yard sample; choose an empty or new folder (nothing was written)`);
    }
    fs.rmSync(out, { recursive: true, force: true });
  }
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, SYNTHETIC_MARKER), JSON.stringify({ tenants: options.tenants, dbsPerTenant: options.dbsPerTenant, rows: options.rows, seed: options.seed }) + '\n');
  const next = random(options.seed);
  const context = (name: string, aliases: string[], rows: number) => {
    const dir = path.join(out, 'embedded', name);
    fs.mkdirSync(dir, { recursive: true });
    for (const alias of aliases) buildDatabase(path.join(dir, `${alias}${DATABASE_SUFFIX}`), (db) => fillFindings(db, rows, next, `${name} ${alias}`));
    fs.writeFileSync(path.join(dir, COMPOSITE_SQL_FILE), compositeSql(aliases));
  };
  context('admin', ['platform'], Math.min(options.rows, 100));
  context('cross-tenant', ['shared'], Math.min(options.rows, 100));
  const aliases = Array.from({ length: options.dbsPerTenant }, (_, i) => `area${i + 1}`);
  for (let tenant = 1; tenant <= options.tenants; tenant += 1) {
    context(`tenant/t${String(tenant).padStart(5, '0')}`, aliases, options.rows);
    options.onProgress?.(tenant, options.tenants);
  }
  return { contexts: options.tenants + 2, databases: options.tenants * options.dbsPerTenant + 2 };
}
