import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, FINDINGS_SQL, type VolumeFixture } from '../testing/volume-fixture.ts';
import { resolveContext, type VolumeContext } from '../volume/contexts.ts';
import { regenerateComposite } from './regenerate.ts';
import { checkHealth, type HealthReport } from './health.ts';

let fixture: VolumeFixture;
let context: VolumeContext;

const manyRows = Array.from({ length: 2000 }, (_, i) => [i + 1, 'low', `2026-01-${String((i % 28) + 1).padStart(2, '0')}`] as [number, string, string]);

beforeEach(() => {
  fixture = createVolumeFixture();
  fixture.database('tenant/acme', 'quality.sqlite.db', FINDINGS_SQL(manyRows));
  fixture.database('tenant/acme', 'fleet.sqlite.db', FINDINGS_SQL([[1, 'high', '2026-02-01']]));
  fixture.compositeSql(
    'tenant/acme',
    `PRAGMA journal_mode = delete;
ATTACH 'quality.sqlite.db' AS quality;
ATTACH 'fleet.sqlite.db' AS fleet;
CREATE VIEW all_findings AS SELECT 'quality' AS source, * FROM quality.findings UNION ALL SELECT 'fleet', * FROM fleet.findings;
CREATE INDEX quality.idx_findings_created_at ON findings(created_at);
`,
  );
  context = resolveContext(fixture.volumeDir, 'tenant/acme');
  expect(regenerateComposite(context).ok).toBe(true);
});
afterEach(() => fixture.remove());

function problems(report: HealthReport) {
  return [...report.findings, ...report.databases.flatMap((d) => d.findings)].filter((f) => f.severity !== 'ok');
}

function sourceBytes(): Record<string, Buffer> {
  return Object.fromEntries(['quality.sqlite.db', 'fleet.sqlite.db'].map((f) => [f, fs.readFileSync(path.join(context.dir, f))]));
}

describe('health of a context', () => {
  it('reports a healthy composite as ok, with what it checked', () => {
    const report = checkHealth(context);
    expect(problems(report)).toEqual([]);
    expect(report).toMatchObject({ worstSeverity: 'ok', status: 'fresh', attachmentCount: 2 });
    const quality = report.databases.find((d) => d.name === 'quality')!;
    expect(quality).toMatchObject({ exists: true, readable: true, journalMode: 'delete', walBytes: null });
    expect(quality.sizeBytes).toBeGreaterThan(4096);
    expect(quality.findings.map((f) => f.check)).toEqual(['exists', 'header', 'quick_check', 'journal_mode']);
  });

  it('finds a truncated copy of a database and still checks the others', () => {
    const file = path.join(context.dir, 'quality.sqlite.db');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const report = checkHealth(context);
    expect(report.worstSeverity).toBe('error');
    const quality = report.databases.find((d) => d.name === 'quality')!;
    expect(quality.findings.some((f) => f.severity === 'error' && f.message.includes('quality.sqlite.db'))).toBe(true);
    expect(report.databases.find((d) => d.name === 'fleet')!.findings.every((f) => f.severity === 'ok')).toBe(true);
  });

  it('reports a file that is not SQLite by its header', () => {
    fs.writeFileSync(path.join(context.dir, 'fleet.sqlite.db'), 'this is a spreadsheet, honestly');
    const fleet = checkHealth(context).databases.find((d) => d.name === 'fleet')!;
    expect(fleet.findings).toContainEqual(expect.objectContaining({ check: 'header', severity: 'error', message: expect.stringMatching(/not a valid SQLite database/) }));
  });

  it('warns when a database is not in the journal mode composite.sql expects', () => {
    fixture.database('tenant/acme', 'fleet.sqlite.db', 'PRAGMA journal_mode = wal;');
    const fleet = checkHealth(context).databases.find((d) => d.name === 'fleet')!;
    expect(fleet.journalMode).toBe('wal');
    expect(fleet.findings).toContainEqual(expect.objectContaining({ check: 'journal_mode', severity: 'warn', message: expect.stringMatching(/composite.sql expects delete/) }));
  });

  it('warns about an expected index that is missing, without creating it', () => {
    fixture.database('tenant/acme', 'quality.sqlite.db', 'DROP INDEX idx_findings_created_at;');
    regenerateComposite(context);
    const report = checkHealth(context);
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'index', severity: 'warn', message: expect.stringMatching(/quality.idx_findings_created_at .* is missing/) }));
    expect(checkHealth(context).findings.filter((f) => f.check === 'index' && f.severity === 'warn')).toHaveLength(1);
  });

  it('reports a database deleted after regeneration as an error', () => {
    fs.rmSync(path.join(context.dir, 'fleet.sqlite.db'));
    const report = checkHealth(context);
    expect(report.worstSeverity).toBe('error');
    expect(report.databases.find((d) => d.name === 'fleet')!.findings[0]).toMatchObject({ check: 'exists', severity: 'error' });
  });

  it('warns when composite.sql changed since the last regeneration', () => {
    fs.appendFileSync(path.join(context.dir, 'composite.sql'), '-- edited\n');
    const report = checkHealth(context);
    expect(report.status).toBe('stale');
    expect(report.findings[0]).toMatchObject({ check: 'status', severity: 'warn' });
  });

  it('checks the databases of a composite that cannot be generated, from composite.sql or the folder', () => {
    fixture.compositeSql('tenant/acme', 'this is not SQL');
    fs.rmSync(path.join(context.dir, 'composite.sqlite.auto.db'), { force: true });
    const report = checkHealth(context);
    expect(report.databases.map((d) => d.name).sort()).toEqual(['fleet', 'quality']);
    expect(report.status).toBe('missing');
  });

  it('changes no byte of any source database, with quick_check or integrity_check', () => {
    const before = sourceBytes();
    checkHealth(context);
    checkHealth(context, { full: true });
    expect(sourceBytes()).toEqual(before);
    expect(fs.readdirSync(context.dir).sort()).toEqual(['composite.sql', 'composite.sqlite.auto.db', 'fleet.sqlite.db', 'quality.sqlite.db']);
  });
});
