import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { connectComposite } from '../composite/connect.ts';
import { browseRows, parseBrowseRequest } from './browse.ts';
import { resolveObject } from './objects.ts';

let fixture: VolumeFixture;
beforeEach(() => {
  fixture = createVolumeFixture();
});
afterEach(() => fixture.remove());

const INDEXED = `CREATE TABLE findings (id INTEGER PRIMARY KEY, title TEXT, created_at TEXT);
  INSERT INTO findings VALUES (1, 'disk encryption off', '2026-01-01'), (2, 'open port', '2026-01-02'), (3, 'encryption keys rotated late', '2026-01-03');
  CREATE VIRTUAL TABLE findings_search USING fts5(title, content='findings', content_rowid='id');
  INSERT INTO findings_search(findings_search) VALUES ('rebuild');`;

function composite(declaration: string): string {
  fixture.database('tenant/acme', 'quality.sqlite.db', INDEXED);
  return fixture.compositeSql('tenant/acme', `ATTACH 'quality.sqlite.db' AS quality;\n${declaration}\nCREATE VIEW all_findings AS SELECT 'quality' AS source, id, title, created_at FROM quality.findings;\n`);
}

describe('full-text indexes declared in composite.sql', () => {
  it('searches through an index declared with -- @fts, ranked and marked', () => {
    composite('-- @fts quality.findings: findings_search');
    const context = resolveContext(fixture.volumeDir, 'tenant/acme');
    expect(regenerateComposite(context).ok).toBe(true);
    const { db } = connectComposite(context.name, context.dir, autoDbPath(context));
    try {
      for (const name of ['all_findings', 'quality.findings']) {
        const object = resolveObject(db, name);
        const page = browseRows(db, object, parseBrowseRequest(new URLSearchParams('_search=encryption'), object, 100, db), { contextName: context.name, secret: crypto.randomBytes(8), rowCap: 100 });
        expect(page.rows.map((row) => row.id).sort()).toEqual([1, 3]);
        expect(page.snippets?.every((snippet) => snippet.includes('\u0002encryption\u0003'))).toBe(true);
        expect(page.searchNote).toBeUndefined();
      }
    } finally {
      db.close();
    }
  });

  it('refuses a declaration naming no FTS5 index of that table, at its line', () => {
    const file = composite('\n-- @fts quality.findings: findings_fts');
    const line = fs.readFileSync(file, 'utf8').split('\n').indexOf('-- @fts quality.findings: findings_fts') + 1;
    const result = regenerateComposite(resolveContext(fixture.volumeDir, 'tenant/acme'));
    expect(!result.ok && result.problems).toEqual([expect.objectContaining({ file: expect.stringContaining(path.join('tenant', 'acme', 'composite.sql')), line, message: expect.stringMatching(/names no FTS5 table with content='findings' in quality/) })]);
  });
});
