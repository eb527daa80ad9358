import { describe, expect, it } from 'vitest';
import { fts5ContentRowid, fts5ContentTable, isFts5, isFts5Shadow } from './fts5.ts';

describe('FTS5 definitions', () => {
  it('read the content table however SQLite lets it be quoted, the same for regeneration and search', () => {
    for (const quoted of ["'findings'", '"findings"', '[findings]', '`findings`', 'findings']) {
      const sql = `CREATE VIRTUAL TABLE findings_fts USING fts5(title, content=${quoted}, content_rowid='id')`;
      expect(isFts5(sql), quoted).toBe(true);
      expect(fts5ContentTable(sql), quoted).toBe('findings');
      expect(fts5ContentRowid(sql), quoted).toBe('id');
    }
    expect(fts5ContentTable('CREATE VIRTUAL TABLE notes_fts USING fts5(body)')).toBeUndefined();
    expect(fts5ContentRowid('CREATE VIRTUAL TABLE notes_fts USING fts5(body)')).toBe('rowid');
    expect(isFts5('CREATE VIRTUAL TABLE t USING fts4(body)')).toBe(false);
    expect(isFts5(null)).toBe(false);
  });

  it("leave out an index's shadow tables only, not a table whose name merely starts like them", () => {
    expect(['findings_fts_data', 'findings_fts_idx', 'findings_fts_content', 'findings_fts_docsize', 'findings_fts_config'].every((t) => isFts5Shadow(t, ['findings_fts']))).toBe(true);
    expect(isFts5Shadow('findings_fts_notes', ['findings_fts'])).toBe(false);
    expect(isFts5Shadow('findings_fts', ['findings_fts'])).toBe(false);
  });
});
