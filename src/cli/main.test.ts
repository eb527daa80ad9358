import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../testing/volume-fixture.ts';

const yardBin = path.resolve(import.meta.dirname, '../../bin/yard.mjs');
let fixture: VolumeFixture;
let stateDir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function yard(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [yardBin, '--volume', fixture.volumeDir, '--state-dir', stateDir, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(() => {
  fixture = createVolumeFixture();
  stateDir = path.join(fixture.volumeDir, '.state');
  tenantWithFindings(fixture, 'acme');
  tenantWithFindings(fixture, 'globex');
});
afterAll(() => fixture.remove());

describe('yard command line', () => {
  it('lists contexts as JSON with their status', async () => {
    const run = await yard('contexts', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).contexts.map((c: { context: string; status: string }) => [c.context, c.status])).toEqual([
      ['tenant/acme', 'missing'],
      ['tenant/globex', 'missing'],
    ]);
  });

  it('regenerates every context and exits 0, then reports them fresh', async () => {
    const run = await yard('regenerate', '--all', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).map((r: { context: string; ok: boolean }) => [r.context, r.ok])).toEqual([
      ['tenant/acme', true],
      ['tenant/globex', true],
    ]);
    expect(JSON.parse((await yard('contexts', '--json')).stdout).contexts.every((c: { status: string }) => c.status === 'fresh')).toBe(true);
  });

  it('answers a read-only query and refuses anything else with exit 2', async () => {
    const ok = await yard('query', 'tenant/acme', 'SELECT source, count(*) AS n FROM all_findings GROUP BY source ORDER BY source', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).rows).toEqual([
      { source: 'fleet', n: 1 },
      { source: 'quality', n: 2 },
    ]);
    const refused = await yard('query', 'tenant/acme', "ATTACH 'x.db' AS x");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/ATTACH DATABASE statements cannot be run here/);
  });

  it('exits 1 and prints file:line when composite.sql has problems, writing nothing on check', async () => {
    const file = fixture.compositeSql('tenant/globex', "ATTACH 'quality.sqlite.db' AS quality;\nDELETE FROM quality.findings;\n");
    const before = fs.readdirSync(path.dirname(file)).sort();
    const run = await yard('check', 'tenant/globex');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${path.join('embedded', 'tenant', 'globex', 'composite.sql')}:2:1: DELETE is not allowed`);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(before);
    const regenerate = await yard('regenerate', 'tenant/globex', '--json');
    expect(regenerate.code).toBe(1);
    expect(JSON.parse(regenerate.stdout)[0]).toMatchObject({ context: 'tenant/globex', ok: false });
  });

  it('regenerates the others in parallel when one composite.sql is wrong, records each outcome, and exits 1', async () => {
    const run = await yard('regenerate', '--all', '--jobs', '2', '--json');
    expect(run.code).toBe(1);
    const results = JSON.parse(run.stdout) as Array<{ context: string; ok: boolean; problems?: Array<{ line: number }> }>;
    expect(results.map((r) => [r.context, r.ok])).toEqual([
      ['tenant/acme', true],
      ['tenant/globex', false],
    ]);
    expect(results[1].problems![0].line).toBe(2);
    const store = new Database(path.join(stateDir, 'console.sqlite.db'), { readonly: true });
    try {
      const latest = store.prepare('SELECT context, outcome, actor FROM regenerations ORDER BY id DESC LIMIT 2').all();
      expect(latest).toEqual(
        expect.arrayContaining([
          { context: 'tenant/acme', outcome: 'ok', actor: 'cli' },
          { context: 'tenant/globex', outcome: 'error', actor: 'cli' },
        ]),
      );
    } finally {
      store.close();
    }
  });

  it('exits 2 for an unknown context or a bad option, with one line and no stack trace', async () => {
    for (const args of [['health', 'tenant/ghost'], ['regenerate'], ['health', '--all', 'tenant/acme'], ['sample', '--out', '/tmp/x', '--rows', 'many'], ['frobnicate']]) {
      const run = await yard(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });

  it('runs health as JSON and stores it', async () => {
    const run = await yard('health', 'tenant/acme', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ context: 'tenant/acme', worstSeverity: 'ok', status: 'fresh' });
  });

  it('prints a scaffold and refuses to overwrite a composite.sql without --force', async () => {
    const printed = await yard('scaffold', 'tenant/acme');
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain("ATTACH DATABASE 'fleet.sqlite.db' AS fleet;");
    const refused = await yard('scaffold', 'tenant/acme', '--write');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --force/);
  });

  it('shows help for each command with exit 0', async () => {
    const run = await yard('regenerate', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: yard regenerate/);
  });

  it('refreshes, exports and reports drift of the analytics, with exit codes 0, 1 and 2', async () => {
    const missing = await yard('analytics', 'export', '--out', path.join(stateDir, 'export'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no analytics yet/);

    const refreshed = await yard('analytics', 'refresh', '--json');
    expect(refreshed.code).toBe(0);
    expect(JSON.parse(refreshed.stdout)).toMatchObject({ outcome: 'ok', mode: 'full', tenantsTotal: 2, tenantsRead: 2, rowsRead: 6 });
    const exported = await yard('analytics', 'export', '--out', path.join(stateDir, 'export'), '--json');
    expect(exported.code).toBe(0);
    expect(fs.readdirSync(path.join(stateDir, 'export/all_findings')).sort()).toEqual(['tenant=acme', 'tenant=globex']);
    const drift = await yard('analytics', 'drift', '--json');
    expect(drift.code).toBe(0);
    expect(JSON.parse(drift.stdout)).toEqual({ drift: [] });

    fs.writeFileSync(path.join(fixture.volumeDir, 'embedded/analytics.sql'), 'GATHER all_findings;\nGATHER all_findings AS all_findings;\n');
    const bad = await yard('analytics', 'refresh');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/embedded\/analytics\.sql:2:1: "all_findings" is defined twice/);
    fs.rmSync(path.join(fixture.volumeDir, 'embedded/analytics.sql'));
    expect((await yard('analytics', 'export')).code).toBe(2);
  });
});
