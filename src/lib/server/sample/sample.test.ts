import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildSampleVolume, generateSyntheticVolume, SampleOptionError, SampleSeedError, type SyntheticVolumeOptions } from './sample.ts';
import { SEVERITIES, STATUSES } from '../query/findings.ts';
import { listDatabaseFiles, scanVolume, type VolumeContext } from '../volume/contexts.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { checkHealth } from '../composite/health.ts';
import { connectComposite } from '../composite/connect.ts';

const SAMPLE_VOLUME = path.resolve(import.meta.dirname, '../../../../volume-sample');

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-sample-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A digest of every row of every table of every database in a volume, independent of file bytes. */
function rowsDigest(volume: string): string {
  const hash = crypto.createHash('sha256');
  for (const context of scanVolume(volume).contexts) {
    for (const file of listDatabaseFiles(context)) {
      const db = new Database(path.join(context.dir, file), { readonly: true });
      const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
      for (const table of tables) {
        hash.update(`${context.name}/${file}/${table}`);
        // Sorted here: full-text index tables are WITHOUT ROWID.
        for (const row of (db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][]).map((r) => JSON.stringify(r)).sort()) hash.update(row);
      }
      db.close();
    }
  }
  return hash.digest('hex');
}

/** Regenerates a context's composite the way the console does and lists every health problem. */
function healthProblems(context: VolumeContext): string[] {
  const regeneration = regenerateComposite(context);
  if (!regeneration.ok) return regeneration.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`);
  const report = checkHealth(context);
  return [...report.findings, ...report.databases.flatMap((d) => d.findings)].filter((f) => f.severity !== 'ok').map((f) => `${context.name} ${f.subject}: ${f.message}`);
}

function countAllFindings(context: VolumeContext): number {
  const connection = connectComposite(context.name, context.dir, path.join(context.dir, 'composite.sqlite.auto.db'));
  try {
    return (connection.db.prepare('SELECT count(*) FROM all_findings').pluck().get() as number);
  } finally {
    connection.db.close();
  }
}

function copySampleSources(): string {
  const volume = path.join(scratch, 'volume');
  fs.cpSync(SAMPLE_VOLUME, volume, { recursive: true, filter: (file) => !/\.db($|-)/.test(path.basename(file)) && !path.basename(file).includes('.db.') });
  return volume;
}

function seedNames(volume: string): string[] {
  return (fs.readdirSync(path.join(volume, 'seed'), { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.sql')).sort();
}

describe('sample volume', () => {
  it('builds a database for every seed, with no journal left beside it and rows in every table', () => {
    const volume = copySampleSources();
    const { built, skipped } = buildSampleVolume(volume);
    expect(skipped).toEqual([]);
    expect(built).toEqual(seedNames(volume).map((seed) => path.join('embedded', seed.replace(/\.sql$/, '.sqlite.db'))));
    expect(built).toContain(path.join('embedded', 'tenant', 'acme', 'qualityfolio.sqlite.db'));
    // Checked before anything reads them: a reader of a WAL database creates -shm and -wal itself.
    const leftovers = scanVolume(volume).contexts.flatMap((context) => fs.readdirSync(context.dir).filter((f) => !f.endsWith('.sqlite.db') && f !== 'composite.sql'));
    expect(leftovers).toEqual([]);
    for (const file of built) {
      const db = new Database(path.join(volume, file), { readonly: true });
      const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[];
      expect(tables.length, file).toBeGreaterThan(0);
      for (const table of tables) expect(db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get(), `${file} ${table}`).toBeGreaterThan(0);
      db.close();
    }
  });

  it('has three tenants whose findings cover a year with every severity and status', () => {
    const volume = copySampleSources();
    buildSampleVolume(volume);
    const tenants = scanVolume(volume).contexts.filter((c) => c.kind === 'tenant');
    expect(tenants.map((c) => c.tenantId)).toEqual(['acme', 'globex', 'initech']);
    for (const tenant of tenants) {
      for (const file of ['qualityfolio.sqlite.db', 'fleetfolio.sqlite.db']) {
        const db = new Database(path.join(tenant.dir, file), { readonly: true });
        const summary = db.prepare('SELECT count(*) AS rows, min(created_at) AS first, max(created_at) AS last, count(DISTINCT substr(created_at, 1, 7)) AS months FROM findings').get() as Record<string, string | number>;
        expect(summary.rows, `${tenant.name} ${file}`).toBeGreaterThanOrEqual(200);
        expect(summary.months).toBe(12);
        expect(String(summary.first) >= '2025-12' && String(summary.last) < '2026-12').toBe(true);
        expect(db.prepare('SELECT DISTINCT severity FROM findings ORDER BY 1').pluck().all()).toEqual([...SEVERITIES].sort());
        expect(db.prepare('SELECT DISTINCT status FROM findings ORDER BY 1').pluck().all()).toEqual([...STATUSES].sort());
        expect(db.prepare('SELECT count(*) FROM findings WHERE updated_at < created_at').pluck().get()).toBe(0);
        db.close();
      }
    }
  });

  it('serves every context: composites regenerate and health finds nothing to fix', () => {
    const volume = copySampleSources();
    buildSampleVolume(volume);
    const contexts = scanVolume(volume).contexts;
    expect(contexts.map((c) => c.name)).toEqual(['admin', 'cross-tenant', 'tenant/acme', 'tenant/globex', 'tenant/initech']);
    expect(contexts.flatMap(healthProblems)).toEqual([]);
    for (const tenant of contexts.filter((c) => c.kind === 'tenant')) expect(countAllFindings(tenant)).toBeGreaterThanOrEqual(400);
  });

  it('skips up-to-date databases, rebuilds the one whose seed changed, and rebuilds all when forced', () => {
    const volume = copySampleSources();
    const first = buildSampleVolume(volume);
    expect(buildSampleVolume(volume)).toEqual({ built: [], skipped: first.built });

    const seed = path.join(volume, 'seed', 'admin', 'platform.sql');
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(seed, later, later);
    expect(buildSampleVolume(volume).built).toEqual([path.join('embedded', 'admin', 'platform.sqlite.db')]);

    expect(buildSampleVolume(volume, { force: true }).built).toEqual(first.built);
  });

  it('gives the same rows from the same seeds every time', () => {
    const volume = copySampleSources();
    buildSampleVolume(volume);
    const before = rowsDigest(volume);
    buildSampleVolume(volume, { force: true });
    expect(rowsDigest(volume)).toBe(before);
  });

  it('names a broken seed and keeps the database it would have replaced', () => {
    const volume = copySampleSources();
    buildSampleVolume(volume);
    const target = path.join(volume, 'embedded', 'admin', 'platform.sqlite.db');
    const bytesBefore = fs.readFileSync(target);
    fs.appendFileSync(path.join(volume, 'seed', 'admin', 'platform.sql'), 'INSERT INTO no_such_table VALUES (1);\n');
    expect(() => buildSampleVolume(volume, { force: true })).toThrow(SampleSeedError);
    expect(() => buildSampleVolume(volume, { force: true })).toThrow(/^seed[/\\]admin[/\\]platform\.sql: no such table: no_such_table; fix the seed/);
    expect(fs.readFileSync(target).equals(bytesBefore)).toBe(true);
    expect(fs.readdirSync(path.dirname(target)).filter((f) => f.includes('.building-'))).toEqual([]);
  });
});

describe('synthetic volume', () => {
  const options = { tenants: 3, dbsPerTenant: 2, rows: 120, seed: 7 };
  const out = (name: string) => path.join(scratch, name);

  it('is the same for the same seed and differs for another', () => {
    generateSyntheticVolume({ ...options, out: out('a') });
    generateSyntheticVolume({ ...options, out: out('b') });
    generateSyntheticVolume({ ...options, seed: 8, out: out('c') });
    expect(rowsDigest(out('a'))).toBe(rowsDigest(out('b')));
    expect(rowsDigest(out('a'))).not.toBe(rowsDigest(out('c')));
  });

  it('gives a tenant the same rows however many tenants are generated with it', () => {
    generateSyntheticVolume({ ...options, tenants: 1, out: out('one') });
    generateSyntheticVolume({ ...options, out: out('three') });
    const firstTenantRows = (volume: string) => {
      const tenant = scanVolume(volume).contexts.find((c) => c.name === 'tenant/t00001')!;
      return listDatabaseFiles(tenant).map((file) => {
        const db = new Database(path.join(tenant.dir, file), { readonly: true });
        const rows = db.prepare('SELECT * FROM findings ORDER BY id').raw().all();
        db.close();
        return rows;
      });
    };
    expect(firstTenantRows(out('one'))).toEqual(firstTenantRows(out('three')));
  });

  it('lays out admin, cross-tenant and numbered tenants whose composites serve all_findings', () => {
    const result = generateSyntheticVolume({ ...options, out: out('v') });
    expect(result).toEqual({ contexts: 5, databases: 8 });
    const contexts = scanVolume(out('v')).contexts;
    expect(contexts.map((c) => c.name)).toEqual(['admin', 'cross-tenant', 'tenant/t00001', 'tenant/t00002', 'tenant/t00003']);
    expect(contexts.flatMap(healthProblems)).toEqual([]);
    const tenant = contexts[2];
    expect(listDatabaseFiles(tenant)).toEqual(['area01.sqlite.db', 'area02.sqlite.db']);
    expect(countAllFindings(tenant)).toBe(2 * options.rows);
  });

  it('attaches as many databases as SQLite allows', () => {
    generateSyntheticVolume({ ...options, tenants: 1, dbsPerTenant: 10, rows: 3, out: out('wide') });
    const tenant = scanVolume(out('wide')).contexts.find((c) => c.name === 'tenant/t00001')!;
    expect(healthProblems(tenant)).toEqual([]);
    expect(countAllFindings(tenant)).toBe(30);
  });

  it('reports progress per tenant', () => {
    const progress: Array<[number, number]> = [];
    generateSyntheticVolume({ ...options, rows: 1, out: out('p'), onProgress: (done, total) => progress.push([done, total]) });
    expect(progress).toEqual([[1, 3], [2, 3], [3, 3]]);
  });

  it('names the option that is out of range, and writes nothing', () => {
    const cases: Array<[Partial<SyntheticVolumeOptions>, string]> = [
      [{ dbsPerTenant: 11 }, 'dbsPerTenant must be a whole number from 1 to 10 (SQLite attaches at most 10 databases per connection), got 11'],
      [{ dbsPerTenant: 0 }, 'dbsPerTenant must be a whole number from 1 to 10 (SQLite attaches at most 10 databases per connection), got 0'],
      [{ tenants: 0 }, 'tenants must be a whole number from 1 to 99999, got 0'],
      [{ tenants: 100_000 }, 'tenants must be a whole number from 1 to 99999, got 100000'],
      [{ rows: -1 }, 'rows must be a whole number from 0 to 10000000, got -1'],
      [{ rows: 1.5 }, 'rows must be a whole number from 0 to 10000000, got 1.5'],
      [{ seed: -3 }, 'seed must be a whole number from 0 to 4294967295, got -3'],
      [{ out: '' }, 'out must name the folder to create the volume in'],
    ];
    for (const [bad, message] of cases) {
      const option = Object.keys(bad)[0];
      expect(() => generateSyntheticVolume({ ...options, out: out('x'), ...bad })).toThrow(new SampleOptionError(option, message));
    }
    expect(fs.existsSync(out('x'))).toBe(false);
  });

  it('refuses a folder it did not make, and leaves it untouched', () => {
    const foreign = out('mine');
    fs.mkdirSync(path.join(foreign, 'embedded'), { recursive: true });
    fs.writeFileSync(path.join(foreign, 'embedded', 'precious.sqlite.db'), 'keep me');
    expect(() => generateSyntheticVolume({ ...options, out: foreign })).toThrow(/is not empty and was not made by yard sample; choose an empty or new folder/);
    expect(fs.readdirSync(foreign, { recursive: true })).toEqual(['embedded', path.join('embedded', 'precious.sqlite.db')]);

    fs.writeFileSync(out('file'), 'a file');
    expect(() => generateSyntheticVolume({ ...options, out: out('file') })).toThrow(/is a file, not a folder/);
  });

  it('replaces a volume it generated before, keeping anything else kept beside it', () => {
    generateSyntheticVolume({ ...options, out: out('v') });
    fs.mkdirSync(path.join(out('v'), '.yard-state'));
    generateSyntheticVolume({ ...options, tenants: 1, out: out('v') });
    expect(scanVolume(out('v')).contexts.map((c) => c.name)).toEqual(['admin', 'cross-tenant', 'tenant/t00001']);
    expect(fs.existsSync(path.join(out('v'), '.yard-state'))).toBe(true);
  });
});
