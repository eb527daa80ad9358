import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, FINDINGS_SQL, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { resolveContext, type VolumeContext } from '../volume/contexts.ts';
import { regenerateComposite } from './regenerate.ts';
import { checkHealth, WAL_WARN_BYTES, type DatabaseHealth, type HealthReport } from './health.ts';

const CONTEXT = 'tenant/acme';
/** Enough rows for quality.sqlite.db to span well over 50 pages. */
const QUALITY_ROWS = Array.from({ length: 5000 }, (_, i) => [i + 1, 'low', `2026-01-${String((i % 28) + 1).padStart(2, '0')}`] as [number, string, string]);
const COMPOSITE_SQL = `PRAGMA journal_mode = delete;
ATTACH 'quality.sqlite.db' AS quality;
ATTACH 'fleet.sqlite.db' AS fleet;
CREATE VIEW all_findings AS SELECT 'quality' AS source, * FROM quality.findings UNION ALL SELECT 'fleet', * FROM fleet.findings;
CREATE INDEX quality.idx_findings_created_at ON findings(created_at);
`;

let fixture: VolumeFixture;
let context: VolumeContext;

beforeEach(() => {
  fixture = createVolumeFixture();
  fixture.database(CONTEXT, 'quality.sqlite.db', FINDINGS_SQL(QUALITY_ROWS));
  fixture.database(CONTEXT, 'fleet.sqlite.db', FINDINGS_SQL([[1, 'high', '2026-02-01']]));
  fixture.compositeSql(CONTEXT, COMPOSITE_SQL);
  context = resolveContext(fixture.volumeDir, CONTEXT);
  expect(regenerateComposite(context).ok).toBe(true);
});
afterEach(() => fixture.remove());

const file = (name: string) => path.join(context.dir, name);

function regenerate(compositeSql: string): void {
  fixture.compositeSql(CONTEXT, compositeSql);
  expect(regenerateComposite(context).ok).toBe(true);
}

function problems(report: HealthReport) {
  return [...report.findings, ...report.databases.flatMap((d) => d.findings)].filter((f) => f.severity !== 'ok');
}

function database(report: HealthReport, name: string): DatabaseHealth {
  const found = report.databases.find((d) => d.name === name);
  if (!found) throw new Error(`no database ${name} in the report`);
  return found;
}

/** Every file of the context folder with a digest of its bytes; SQLite's shared-memory index is compared by name only. */
function folderSnapshot(): Record<string, string> {
  const digest = (name: string) => crypto.createHash('sha256').update(fs.readFileSync(file(name))).digest('hex');
  return Object.fromEntries(fs.readdirSync(context.dir).map((name) => [name, name.endsWith('-shm') ? 'present' : digest(name)]));
}

describe('health of a healthy context', () => {
  it('reports only ok findings, and lists what it checked', () => {
    const report = checkHealth(context);
    expect(problems(report)).toEqual([]);
    expect(report).toMatchObject({ context: CONTEXT, worstSeverity: 'ok', status: 'fresh', attachmentCount: 2, full: false });
    expect(report.findings.map((f) => f.check)).toEqual(['status', 'attachments', 'view', 'index']);
    const quality = database(report, 'quality');
    expect(quality.findings.map((f) => f.check)).toEqual(['exists', 'header', 'quick_check', 'journal_mode', 'freelist']);
    expect(quality).toMatchObject({ path: 'quality.sqlite.db', exists: true, readable: true, journalMode: 'delete', walBytes: null, pageSize: 4096, freelistPages: 0 });
    expect(quality.pageCount).toBeGreaterThanOrEqual(50);
    expect(quality.sizeBytes).toBe(fs.statSync(file('quality.sqlite.db')).size);
    expect(quality.modifiedAt).toBe(fs.statSync(file('quality.sqlite.db')).mtime.toISOString());
    expect(quality.schemaFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tells a schema change from a data change by the schema fingerprint', () => {
    const before = database(checkHealth(context), 'fleet').schemaFingerprint;
    fixture.database(CONTEXT, 'fleet.sqlite.db', "INSERT INTO findings VALUES (2, 'another', 'low', '2026-03-01');");
    expect(database(checkHealth(context), 'fleet').schemaFingerprint).toBe(before);
    fixture.database(CONTEXT, 'fleet.sqlite.db', 'ALTER TABLE findings ADD COLUMN owner TEXT;');
    expect(database(checkHealth(context), 'fleet').schemaFingerprint).not.toBe(before);
  });

  it('runs integrity_check on request, which finds an index that disagrees with its table where quick_check cannot', () => {
    // Rewrite one row's created_at in place, behind the index's back.
    const bytes = fs.readFileSync(file('quality.sqlite.db'));
    const row = bytes.indexOf('finding 2500low2026-01-');
    expect(row).toBeGreaterThan(0);
    bytes.write('99', row + 'finding 2500low2026-01-'.length, 'latin1');
    fs.writeFileSync(file('quality.sqlite.db'), bytes);

    expect(checkHealth(context).worstSeverity).toBe('ok');
    const report = checkHealth(context, { full: true });
    expect(report).toMatchObject({ full: true, worstSeverity: 'error' });
    expect(database(report, 'quality').findings).toContainEqual(
      expect.objectContaining({ check: 'integrity_check', severity: 'error', message: expect.stringMatching(/^integrity_check found damage in quality\.sqlite\.db: .*restore it from a backup$/) }),
    );
    expect(database(report, 'fleet').findings).toContainEqual(expect.objectContaining({ check: 'integrity_check', severity: 'ok' }));
  });
});

describe('health of damaged databases', () => {
  it('reports a truncated copy of a database as an error naming the file, and still checks the others', () => {
    const original = fs.readFileSync(file('quality.sqlite.db'));
    expect(original.length / 4096).toBeGreaterThanOrEqual(50);
    fs.writeFileSync(file('quality.sqlite.db'), original.subarray(0, original.length / 2));

    const report = checkHealth(context);
    expect(report.worstSeverity).toBe('error');
    const quality = database(report, 'quality');
    expect(quality.readable).toBe(false);
    expect(quality.findings).toContainEqual({
      subject: 'quality',
      check: 'quick_check',
      severity: 'error',
      message: expect.stringMatching(/^quality\.sqlite\.db is damaged .*the file has \d+ of the \d+ bytes its header describes, as if a copy was cut short; restore it from a backup$/),
    });
    expect(database(report, 'fleet').findings.every((f) => f.severity === 'ok')).toBe(true);
  });

  it('reports a database left in the middle of a transaction, without rolling it back', () => {
    // A crash mid-transaction leaves the database beside a hot journal; copying both while a
    // writer is inside a transaction that has spilled pages to disk reproduces it.
    const scratch = fixture.database('scratch', 'fleet.sqlite.db', FINDINGS_SQL(QUALITY_ROWS));
    const writer = new Database(scratch);
    try {
      writer.pragma('cache_size = 2');
      writer.exec("BEGIN; UPDATE findings SET title = title || ' (edited)';");
      fs.copyFileSync(scratch, file('fleet.sqlite.db'));
      fs.copyFileSync(`${scratch}-journal`, file('fleet.sqlite.db-journal'));
    } finally {
      writer.close();
    }
    const before = folderSnapshot();
    const fleet = database(checkHealth(context), 'fleet');
    expect(fleet.findings).toContainEqual(
      expect.objectContaining({ check: 'quick_check', severity: 'error', message: expect.stringMatching(/^fleet\.sqlite\.db has an unfinished transaction in fleet\.sqlite\.db-journal/) }),
    );
    expect(folderSnapshot()).toEqual(before);
  });

  it.each([
    ['a file that is not SQLite', 'this is a spreadsheet, honestly', /it starts with "this is a spread" instead of "SQLite format 3"/],
    ['an empty file', '', /the file is empty/],
  ])('reports %s by its header', (_, content, description) => {
    fs.writeFileSync(file('fleet.sqlite.db'), content);
    const report = checkHealth(context);
    const fleet = database(report, 'fleet');
    expect(fleet.readable).toBe(false);
    expect(fleet.findings.at(-1)).toMatchObject({ check: 'header', severity: 'error', message: expect.stringMatching(/^fleet\.sqlite\.db is not a valid SQLite database \(/) });
    expect(fleet.findings.at(-1)!.message).toMatch(description);
    expect(database(report, 'quality').readable).toBe(true);
  });
});

describe('health against the expectations of composite.sql', () => {
  it('warns when a database is not in the journal mode composite.sql expects, saying how to fix it', () => {
    fixture.database(CONTEXT, 'fleet.sqlite.db', 'PRAGMA journal_mode = wal;');
    const report = checkHealth(context);
    expect(report.worstSeverity).toBe('warn');
    expect(database(report, 'fleet').journalMode).toBe('wal');
    expect(database(report, 'fleet').findings).toContainEqual(
      expect.objectContaining({ check: 'journal_mode', severity: 'warn', message: expect.stringMatching(/is in journal mode wal, composite.sql expects delete: set PRAGMA journal_mode = delete/) }),
    );
    expect(database(report, 'quality').findings).toContainEqual(expect.objectContaining({ check: 'journal_mode', severity: 'ok' }));
  });

  it('applies a schema-qualified expectation to that attachment only, and explains why synchronous is not read', () => {
    fixture.database(CONTEXT, 'fleet.sqlite.db', 'PRAGMA journal_mode = wal;');
    regenerate(COMPOSITE_SQL.replace('PRAGMA journal_mode = delete;', 'PRAGMA fleet.journal_mode = wal;\nPRAGMA synchronous = full;'));
    const report = checkHealth(context);
    expect(problems(report)).toEqual([]);
    expect(database(report, 'fleet').findings.map((f) => f.check)).toContain('journal_mode');
    expect(database(report, 'quality').findings.map((f) => f.check)).not.toContain('journal_mode');
    for (const name of ['quality', 'fleet']) {
      expect(database(report, name).findings).toContainEqual(expect.objectContaining({ check: 'synchronous', severity: 'ok', message: expect.stringMatching(/per-connection setting/) }));
    }
  });
});

describe('health of space use', () => {
  it('suggests VACUUM when most pages are free', () => {
    fixture.database(CONTEXT, 'quality.sqlite.db', 'DELETE FROM findings WHERE id > 500;');
    const quality = database(checkHealth(context), 'quality');
    expect(quality.freelistPages! / quality.pageCount!).toBeGreaterThan(0.25);
    expect(quality.findings).toContainEqual(expect.objectContaining({ check: 'freelist', severity: 'warn', message: expect.stringMatching(/pages of quality\.sqlite\.db are free: run VACUUM/) }));
  });

  it('reports the write-ahead log of a database being written', () => {
    const writer = new Database(file('fleet.sqlite.db'));
    try {
      writer.pragma('journal_mode = wal');
      writer.exec("INSERT INTO findings VALUES (2, 'during the check', 'low', '2026-03-01')");
      const fleet = database(checkHealth(context), 'fleet');
      expect(fleet.walBytes).toBe(fs.statSync(file('fleet.sqlite.db-wal')).size);
      expect(fleet.walBytes).toBeGreaterThan(0);
      expect(fleet.findings).toContainEqual(expect.objectContaining({ check: 'wal_size', severity: 'ok' }));
    } finally {
      writer.close();
    }
  });

  it('warns about a write-ahead log that checkpoints do not keep up with', () => {
    fixture.database(CONTEXT, 'fleet.sqlite.db', 'PRAGMA journal_mode = wal;');
    fs.writeFileSync(file('fleet.sqlite.db-wal'), '');
    fs.truncateSync(file('fleet.sqlite.db-wal'), WAL_WARN_BYTES + 1);
    const fleet = database(checkHealth(context), 'fleet');
    expect(fleet.findings).toContainEqual(expect.objectContaining({ check: 'wal_size', severity: 'warn', message: expect.stringMatching(/wal_checkpoint\(TRUNCATE\)/) }));
  });
});

describe('health of the composite', () => {
  it('warns about an expected index that is missing, naming the file to create it in, and never creates it', () => {
    fixture.database(CONTEXT, 'quality.sqlite.db', 'DROP INDEX idx_findings_created_at;');
    regenerate(COMPOSITE_SQL);
    const report = checkHealth(context);
    expect(report.worstSeverity).toBe('warn');
    expect(report.findings.filter((f) => f.severity !== 'ok')).toEqual([
      {
        subject: 'composite',
        check: 'index',
        severity: 'warn',
        message: 'expected index idx_findings_created_at on quality.findings(created_at) is missing: create it in quality.sqlite.db (regeneration never creates indexes)',
      },
    ]);
    const quality = new Database(file('quality.sqlite.db'), { readonly: true });
    expect(quality.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index'").get()).toEqual({ n: 0 });
    quality.close();
  });

  it('accepts an index of another name whose leading columns are the expected ones', () => {
    fixture.database(CONTEXT, 'quality.sqlite.db', 'DROP INDEX idx_findings_created_at; CREATE INDEX findings_by_date ON findings(created_at, severity);');
    regenerate(COMPOSITE_SQL);
    const report = checkHealth(context);
    expect(report.worstSeverity).toBe('ok');
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'index', message: expect.stringMatching(/served by index findings_by_date/) }));
  });

  it('reports a database deleted after regeneration as an error, without recreating it', () => {
    fs.rmSync(file('fleet.sqlite.db'));
    const report = checkHealth(context);
    expect(report.worstSeverity).toBe('error');
    expect(database(report, 'fleet')).toMatchObject({ exists: false, findings: [{ check: 'exists', severity: 'error', message: expect.stringMatching(/fleet\.sqlite\.db.* does not exist/) }] });
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'connect', severity: 'error' }));
    expect(database(report, 'quality').findings.every((f) => f.severity === 'ok')).toBe(true);
    expect(fs.existsSync(file('fleet.sqlite.db'))).toBe(false);
  });

  it('warns when composite.sql changed since the last regeneration, saying what to run', () => {
    fs.appendFileSync(file('composite.sql'), '-- edited\n');
    const report = checkHealth(context);
    expect(report).toMatchObject({ status: 'stale', worstSeverity: 'warn' });
    expect(report.findings[0]).toMatchObject({ check: 'status', severity: 'warn', message: expect.stringMatching(/composite.sql changed since the last regeneration.*yard regenerate tenant\/acme/) });
  });

  it('reports each view that no longer compiles, with its line in composite.sql', () => {
    fixture.database(CONTEXT, 'fleet.sqlite.db', 'ALTER TABLE findings RENAME TO old_findings;');
    const report = checkHealth(context);
    expect(report.status).toBe('stale');
    expect(report.findings).toContainEqual({
      subject: 'composite',
      check: 'view',
      severity: 'error',
      message: expect.stringMatching(/^view all_findings \(composite.sql line 4\) no longer compiles: no such table: fleet.findings; fix/),
    });
  });

  it('warns about a composite never generated and checks the databases composite.sql attaches', () => {
    fs.rmSync(file('composite.sqlite.auto.db'));
    fixture.database(CONTEXT, 'fleet.sqlite.db', 'PRAGMA journal_mode = wal;');
    const report = checkHealth(context);
    expect(report).toMatchObject({ status: 'missing', attachmentCount: 2 });
    expect(report.findings[0]).toMatchObject({ check: 'status', severity: 'warn', message: expect.stringMatching(/^composite is not generated/) });
    expect(report.findings[1]).toMatchObject({ check: 'attachments', severity: 'ok', message: expect.stringMatching(/databases composite.sql attaches/) });
    expect(database(report, 'fleet').findings).toContainEqual(expect.objectContaining({ check: 'journal_mode', severity: 'warn' }));
  });

  it('reports an unreadable composite as an error and still checks the databases', () => {
    fs.rmSync(file('composite.sqlite.auto.db'));
    fs.writeFileSync(file('composite.sqlite.auto.db'), 'not a database');
    const report = checkHealth(context);
    expect(report).toMatchObject({ status: 'broken', worstSeverity: 'error' });
    expect(report.findings[0]).toMatchObject({ check: 'status', severity: 'error' });
    expect(report.databases.map((d) => d.readable)).toEqual([true, true]);
  });

  it('falls back to every database in the folder when composite.sql cannot be parsed, saying where it is wrong', () => {
    fixture.compositeSql(CONTEXT, "ATTACH 'quality.sqlite.db' AS quality;\nDELETE FROM quality.findings;\n");
    fs.rmSync(file('composite.sqlite.auto.db'));
    const report = checkHealth(context);
    expect(report.databases.map((d) => d.name)).toEqual(['fleet', 'quality']);
    expect(report.findings[1]).toMatchObject({ check: 'attachments', severity: 'warn', message: expect.stringMatching(/^composite.sql is not valid \(composite.sql:2:1: .*every database in the folder was checked \(2\)$/) });
  });
});

describe('health never writes to a database', () => {
  it('leaves every file of the context byte-identical and creates none, with quick_check and integrity_check', () => {
    const before = folderSnapshot();
    checkHealth(context);
    checkHealth(context, { full: true });
    expect(folderSnapshot()).toEqual(before);
  });

  it('leaves a database being written in WAL mode, and its log, byte-identical', () => {
    const writer = new Database(file('fleet.sqlite.db'));
    try {
      writer.pragma('journal_mode = wal');
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec("INSERT INTO findings VALUES (2, 'not yet checkpointed', 'low', '2026-03-01')");
      const before = folderSnapshot();
      expect(Object.keys(before)).toContain('fleet.sqlite.db-wal');
      checkHealth(context);
      checkHealth(context, { full: true });
      expect(folderSnapshot()).toEqual(before);
    } finally {
      writer.close();
    }
  });

  it('creates nothing for a database that is missing or damaged', () => {
    fs.rmSync(file('fleet.sqlite.db'));
    fs.writeFileSync(file('quality.sqlite.db'), fs.readFileSync(file('quality.sqlite.db')).subarray(0, 8192));
    const before = folderSnapshot();
    checkHealth(context, { full: true });
    expect(folderSnapshot()).toEqual(before);
  });
});
