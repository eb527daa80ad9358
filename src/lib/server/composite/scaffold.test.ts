import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { resolveContext } from '../volume/contexts.ts';
import { scaffoldCompositeSql } from './scaffold.ts';
import { parseCompositeSql } from './parse.ts';
import { regenerateComposite } from './regenerate.ts';

let fixture: VolumeFixture;
beforeEach(() => {
  fixture = createVolumeFixture();
});
afterEach(() => fixture.remove());

/** Compares with a committed file; UPDATE_GOLDEN=1 rewrites it after a deliberate change. */
function expectGolden(name: string, actual: string): void {
  const file = path.join(import.meta.dirname, '__golden__', name);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, actual);
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}

describe('scaffold', () => {
  it('attaches every database and unions tables found in two or more over their shared columns', () => {
    fixture.database('tenant/acme', 'quality-folio.sqlite.db', 'CREATE TABLE findings (id INTEGER, title TEXT, severity TEXT, test_case TEXT); CREATE TABLE runs (id INTEGER);');
    fixture.database('tenant/acme', 'fleetfolio.sqlite.db', 'CREATE TABLE findings (id INTEGER, severity TEXT, title TEXT, asset TEXT); CREATE TABLE assets (id INTEGER);');
    fixture.database('tenant/acme', '2026 archive.sqlite.db', 'CREATE TABLE findings (id INTEGER, title TEXT, severity TEXT); CREATE TABLE runs (other TEXT);');
    const text = scaffoldCompositeSql(resolveContext(fixture.volumeDir, 'tenant/acme'));
    expectGolden('scaffold-three-databases.sql', text);
    expect(scaffoldCompositeSql(resolveContext(fixture.volumeDir, 'tenant/acme'))).toBe(text);
  });

  it('produces a composite.sql that validates and regenerates', () => {
    fixture.database('tenant/acme', 'a.sqlite.db', 'CREATE TABLE findings (id INTEGER, title TEXT); INSERT INTO findings VALUES (1, \'x\');');
    fixture.database('tenant/acme', 'b.sqlite.db', 'CREATE TABLE findings (id INTEGER, title TEXT); INSERT INTO findings VALUES (2, \'y\');');
    const context = resolveContext(fixture.volumeDir, 'tenant/acme');
    const text = scaffoldCompositeSql(context);
    expect(parseCompositeSql(text, 'composite.sql').ok).toBe(true);
    fixture.compositeSql('tenant/acme', text);
    const result = regenerateComposite(context);
    expect(result.ok && result.manifest.views.map((v) => v.name)).toEqual(['all_findings']);
    expect(result.ok && result.manifest.views[0].description).toMatch(/^TODO: say what all_findings holds/);
    expect(result.ok && result.manifest.views[0].columnDescriptions).toEqual({ source: 'the attached database each row comes from' });
  });

  it('leaves full-text indexes and their shadow tables out of the views', () => {
    const indexed = "CREATE TABLE findings (id INTEGER, title TEXT); CREATE VIRTUAL TABLE findings_fts USING fts5(title, content='findings');";
    fixture.database('tenant/acme', 'a.sqlite.db', indexed);
    fixture.database('tenant/acme', 'b.sqlite.db', indexed);
    const text = scaffoldCompositeSql(resolveContext(fixture.volumeDir, 'tenant/acme'));
    expect(text.match(/CREATE VIEW \S+/g)).toEqual(['CREATE VIEW all_findings']);
  });

  it('attaches ten databases and lists the rest in a comment', () => {
    for (let i = 1; i <= 12; i += 1) fixture.database('tenant/wide', `d${String(i).padStart(2, '0')}.sqlite.db`, 'CREATE TABLE t (x)');
    expectGolden('scaffold-twelve-databases.sql', scaffoldCompositeSql(resolveContext(fixture.volumeDir, 'tenant/wide')));
  });
});
