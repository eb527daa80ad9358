import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { checkComposite, regenerateComposite } from './regenerate.ts';
import { connectComposite } from './connect.ts';
import { compositeState } from './status.ts';
import { processStartTime } from './lock.ts';
import { checkHealth } from './health.ts';

let fixture: VolumeFixture;
beforeEach(() => {
  fixture = createVolumeFixture();
});
afterEach(() => fixture.remove());

function filesIn(dir: string): Record<string, Buffer> {
  return Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith('.sqlite.db')).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

function allFindings(contextName: string) {
  const context = resolveContext(fixture.volumeDir, contextName);
  const connection = connectComposite(context.name, context.dir, autoDbPath(context));
  try {
    return connection.db.prepare('SELECT source, id FROM all_findings ORDER BY source, id').all();
  } finally {
    connection.db.close();
  }
}

describe('regeneration', () => {
  it('builds an auto.db whose TEMP view spans both attached databases after reopening', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const result = regenerateComposite(resolveContext(fixture.volumeDir, name));
    expect(result.ok).toBe(true);
    expect(allFindings(name)).toEqual([
      { source: 'fleet', id: 1 },
      { source: 'quality', id: 1 },
      { source: 'quality', id: 2 },
    ]);
  });

  it('refuses a -- @column description of a column the view does not have, at its line', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const file = path.join(fixture.contextDir(name), 'composite.sql');
    fs.appendFileSync(file, '\n-- @description Only the high ones.\n-- @column severty: typo\nCREATE VIEW high AS SELECT id, severity FROM quality.findings;\n');
    const line = fs.readFileSync(file, 'utf8').split('\n').indexOf('-- @column severty: typo') + 1;
    const result = regenerateComposite(resolveContext(fixture.volumeDir, name));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([expect.objectContaining({ line, message: expect.stringContaining('-- @column severty describes a column view high does not have; its columns are id, severity') })]);
  });

  it('leaves the auto.db read-only and no temporary or lock file behind', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    regenerateComposite(context);
    expect(fs.statSync(autoDbPath(context)).mode & 0o777).toBe(0o444);
    expect(fs.readdirSync(context.dir).sort()).toEqual(['composite.sql', 'composite.sqlite.auto.db', 'fleet.sqlite.db', 'quality.sqlite.db']);
  });

  it('keeps the previous composite serving when composite.sql becomes invalid, and reports file:line', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    const first = regenerateComposite(context, { displayRoot: fixture.volumeDir });
    expect(first.ok).toBe(true);
    const before = fs.readFileSync(autoDbPath(context));
    fixture.compositeSql(name, `ATTACH 'quality.sqlite.db' AS quality;\nCREATE VIEW all_findings AS SELECT nope FROM quality.findings;\n`);
    const second = regenerateComposite(context, { displayRoot: fixture.volumeDir });
    expect(second.ok).toBe(false);
    if (second.ok) return;
    expect(second.problems[0]).toMatchObject({ file: path.join('embedded', 'tenant', 'acme', 'composite.sql'), line: 2 });
    expect(second.problems[0].message).toContain('nope');
    expect(fs.readFileSync(autoDbPath(context)).equals(before)).toBe(true);
    expect(allFindings(name)).toHaveLength(3);
  });

  it('refuses a composite.sql that attaches a file that does not exist, and creates no file', () => {
    const name = tenantWithFindings(fixture, 'acme');
    fixture.compositeSql(name, `ATTACH 'ghost.sqlite.db' AS ghost;\n`);
    const context = resolveContext(fixture.volumeDir, name);
    const result = regenerateComposite(context);
    expect(result.ok).toBe(false);
    expect(fs.existsSync(path.join(context.dir, 'ghost.sqlite.db'))).toBe(false);
    expect(fs.existsSync(autoDbPath(context))).toBe(false);
  });

  it('never changes a byte of the source databases', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    const before = filesIn(context.dir);
    regenerateComposite(context);
    regenerateComposite(context);
    expect(filesIn(context.dir)).toEqual(before);
  });

  it('reports a missing composite.sql as a problem, not an exception', () => {
    fixture.database('admin', 'platform.sqlite.db', 'CREATE TABLE t (x)');
    const result = regenerateComposite(resolveContext(fixture.volumeDir, 'admin'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0].message).toMatch(/no composite\.sql/);
  });
});

describe('check without writing', () => {
  it('finds a view that does not compile and writes nothing into the context', () => {
    const name = tenantWithFindings(fixture, 'acme');
    fixture.compositeSql(name, `ATTACH 'quality.sqlite.db' AS quality;\n\nCREATE VIEW v AS SELECT * FROM quality.missing_table;\n`);
    const context = resolveContext(fixture.volumeDir, name);
    const listing = fs.readdirSync(context.dir).sort();
    const result = checkComposite(context);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ line: 3 });
    expect(result.problems[0].message).toContain('missing_table');
    expect(fs.readdirSync(context.dir).sort()).toEqual(listing);
  });
});

describe('staleness', () => {
  it('is missing before generation and fresh right after', () => {
    const context = resolveContext(fixture.volumeDir, tenantWithFindings(fixture, 'acme'));
    expect(compositeState(context).status).toBe('missing');
    regenerateComposite(context);
    expect(compositeState(context)).toMatchObject({ status: 'fresh', reasons: [] });
  });

  it('turns stale when composite.sql changes', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    regenerateComposite(context);
    fs.appendFileSync(path.join(context.dir, 'composite.sql'), '\n-- reviewed\n');
    expect(compositeState(context)).toMatchObject({ status: 'stale', reasons: ['composite.sql changed since the last regeneration'] });
  });

  it('turns stale when an attached database changes its schema', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    regenerateComposite(context);
    fixture.database(name, 'fleet.sqlite.db', 'ALTER TABLE findings ADD COLUMN owner TEXT');
    const state = compositeState(context);
    expect(state.status).toBe('stale');
    expect(state.reasons.join(' ')).toContain('fleet.sqlite.db');
  });

  it('turns stale when an attached database is gone', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    regenerateComposite(context);
    fs.rmSync(path.join(context.dir, 'fleet.sqlite.db'));
    const state = compositeState(context);
    expect(state.status).toBe('stale');
    expect(state.reasons.join(' ')).toContain('fleet');
  });

  it('notices every change after having answered fresh before', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    regenerateComposite(context);
    expect(compositeState(context).status).toBe('fresh');
    expect(compositeState(context).status).toBe('fresh');
    fixture.database(name, 'quality.sqlite.db', 'CREATE INDEX idx_severity ON findings(severity)');
    expect(compositeState(context).reasons).toEqual(['the schema of quality.sqlite.db changed since the last regeneration']);
    regenerateComposite(context);
    expect(compositeState(context).status).toBe('fresh');
    fs.appendFileSync(path.join(context.dir, 'composite.sql'), '-- reviewed\n');
    expect(compositeState(context).status).toBe('stale');
    regenerateComposite(context);
    fs.rmSync(autoDbPath(context));
    expect(compositeState(context).status).toBe('missing');
  });

  it('is broken when the auto.db is not a composite', () => {
    const name = tenantWithFindings(fixture, 'acme');
    const context = resolveContext(fixture.volumeDir, name);
    fs.writeFileSync(autoDbPath(context), 'not a database at all, just text');
    expect(compositeState(context).status).toBe('broken');
  });
});

describe('regeneration after a crash', () => {
  it('takes over a lock naming a live process that is not its writer (a reused PID, PID 1 in a container)', () => {
    const context = resolveContext(fixture.volumeDir, tenantWithFindings(fixture, 'acme'));
    const lockFile = `${autoDbPath(context)}.lock`;
    for (const stale of ['1\n', `1 ${Number(processStartTime(1)) + 12345}\n`, `${process.pid} 1\n`]) {
      fs.writeFileSync(lockFile, stale);
      // Taken over, not waited out and refused as busy.
      expect(regenerateComposite(context).ok, stale).toBe(true);
      expect(fs.existsSync(lockFile)).toBe(false);
    }
  });

  it('removes candidate files left by killed regenerations, which health reports until then', () => {
    const context = resolveContext(fixture.volumeDir, tenantWithFindings(fixture, 'acme'));
    expect(regenerateComposite(context).ok).toBe(true);
    const leftovers = ['composite.sqlite.auto.db.tmp-4242-0badcafe', 'composite.sqlite.auto.db.tmp-4242-0badcafe-journal', 'composite.sqlite.auto.db.tmp-77-1234abcd'];
    for (const leftover of leftovers) fs.writeFileSync(path.join(context.dir, leftover), 'partial');
    const reported = checkHealth(context).findings.find((finding) => finding.check === 'leftovers');
    expect(reported).toMatchObject({ severity: 'warn', message: expect.stringMatching(/^3 candidate files of interrupted regenerations .* the next regeneration removes them$/) });
    expect(regenerateComposite(context).ok).toBe(true);
    expect(fs.readdirSync(context.dir).filter((name) => name.includes('.tmp-'))).toEqual([]);
    expect(checkHealth(context).findings.find((finding) => finding.check === 'leftovers')).toBeUndefined();
  });
});
