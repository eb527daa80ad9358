import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVolumeFixture, FINDINGS_SQL, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { resolveContext } from '../volume/contexts.ts';
import { isAlive } from '../../../testing/processes.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { ExportRunner } from './export-runner.ts';
import { QueryProcesses } from './processes.ts';
import { QueryTimeoutError } from '../query/run.ts';

const FINDINGS = 2_500;
/** Cells a spreadsheet would run as formulas (OWASP's list of leading characters). */
const FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(1)', '\t=1', '\r=1'];
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

let fixture: VolumeFixture;
let processes: QueryProcesses;
let exports: ExportRunner;

beforeAll(() => {
  fixture = createVolumeFixture();
  const rows = Array.from({ length: FINDINGS }, (_, n): [number, string, string] => [n + 1, SEVERITIES[n % 4], `2026-01-01T00:00:${String(n).padStart(5, '0')}`]);
  fixture.database('tenant/bulk', 'quality.sqlite.db', FINDINGS_SQL(rows));
  fixture.compositeSql(
    'tenant/bulk',
    `ATTACH DATABASE 'quality.sqlite.db' AS quality;
CREATE VIEW all_findings AS SELECT id, title, severity, created_at FROM quality.findings;
CREATE VIEW pairs AS SELECT a.id AS a, b.id AS b, a.title || b.title AS label FROM quality.findings AS a, quality.findings AS b;
`,
  );
  expect(regenerateComposite(resolveContext(fixture.volumeDir, 'tenant/bulk')).ok).toBe(true);
  fixture.database(
    'tenant/formulas',
    'notes.sqlite.db',
    `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, amount REAL);
     INSERT INTO notes VALUES ${FORMULAS.map((body, n) => `(${n + 1}, '${body.replaceAll("'", "''")}', -${n + 1}.5)`).join(', ')};`,
  );
  fixture.compositeSql('tenant/formulas', `ATTACH 'notes.sqlite.db' AS notes;\nCREATE VIEW all_notes AS SELECT id, body, amount FROM notes.notes;\n`);
  expect(regenerateComposite(resolveContext(fixture.volumeDir, 'tenant/formulas')).ok).toBe(true);
  processes = new QueryProcesses();
  exports = new ExportRunner(fixture.volumeDir, processes);
});
afterAll(async () => {
  await processes.close();
  fixture.remove();
});

const task = (object: string, params: string, format: 'csv' | 'json' = 'csv') => ({ context: 'tenant/bulk', object, params, format, maxPageSize: 1000 });

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe('exports', () => {
  it('streams every row of a listing as CSV, in its order, over several chunks', async () => {
    const lines = (await text(await exports.stream(task('all_findings', '_sort=id&_desc=1'), 5_000))).trimEnd().split('\n');
    expect(lines).toHaveLength(FINDINGS + 1);
    expect(lines[0]).toBe('id,title,severity,created_at');
    expect(lines[1]).toBe(`${FINDINGS},finding ${FINDINGS},low,2026-01-01T00:00:02499`);
    expect(lines.at(-1)).toBe('1,finding 1,critical,2026-01-01T00:00:00000');
  });

  it('streams a filtered listing as one JSON array', async () => {
    const rows = JSON.parse(await text(await exports.stream(task('all_findings', 'severity=high&_sort=id', 'json'), 5_000))) as Array<{ id: number; severity: string }>;
    expect(rows).toHaveLength(FINDINGS / 4);
    expect(rows.every((row) => row.severity === 'high')).toBe(true);
    expect(rows[0].id).toBe(2);
  });

  it('exports cells that start like a formula as text in CSV, and exactly in JSON', async () => {
    const formulas = (format: 'csv' | 'json') => ({ ...task('all_notes', '_sort=id', format), context: 'tenant/formulas' });
    const csv = await text(await exports.stream(formulas('csv'), 5_000));
    expect(csv).toBe(
      [
        'id,body,amount',
        `1,'=cmd|' /C calc'!A0,-1.5`,
        `2,"'=HYPERLINK(""http://evil.example"",""x"")",-2.5`,
        `3,'+1+1,-3.5`,
        `4,'-2+3,-4.5`,
        `5,'@SUM(1),-5.5`,
        `6,'\t=1,-6.5`,
        `7,"'\r=1",-7.5`,
        '',
      ].join('\n'),
    );
    const json = JSON.parse(await text(await exports.stream(formulas('json'), 5_000))) as Array<{ body: string; amount: number }>;
    expect(json.map((row) => row.body)).toEqual(FORMULAS);
    expect(json[0].amount).toBe(-1.5);
  });

  it('answers an empty listing with a valid, empty JSON array', async () => {
    expect(JSON.parse(await text(await exports.stream(task('all_findings', 'severity=none', 'json'), 5_000)))).toEqual([]);
  });

  it('refuses an unknown object or column before any row is sent, saying what is wrong', async () => {
    await expect(exports.stream(task('nothing_here', ''), 5_000)).rejects.toMatchObject({ code: 'unknown_object', status: 404 });
    await expect(exports.stream(task('all_findings', 'colour=red'), 5_000)).rejects.toThrow(/has no column "colour"/);
  });

  it('answers a timeout and kills the process when the first rows do not come before the deadline', async () => {
    // 6,250,000 pairs sorted on a computed column: no row comes until all are sorted.
    await expect(exports.stream(task('pairs', '_sort=label'), 300)).rejects.toThrow(QueryTimeoutError);
    const killed = processes.lastPid!;
    await expect.poll(() => isAlive(killed)).toBe(false);
  });

  it('stops reading when the download is abandoned', async () => {
    const stream = await exports.stream(task('pairs', '_sort=a'), 5_000);
    const reading = processes.lastPid!;
    const reader = stream.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    await expect.poll(() => isAlive(reading)).toBe(false);
  });
});
