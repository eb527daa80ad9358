import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browseRows, countRows, exportRows, parseBrowseRequest } from './browse.ts';
import { facetFromKnown, facetOf, facetQuery, facetSample, knownValuesQuery, suggestionQuery } from './facets.ts';
import { BrowseError, resolveObject } from './objects.ts';
import { MATCH_END, MATCH_START, snippetSegments } from './search.ts';
import { runRead } from './run.ts';

let dir: string;
let db: Database.Database;
const context = { contextName: 'tenant/acme', secret: crypto.randomBytes(32), rowCap: 1000 };
const WORDS = ['openssl outdated', 'disk encryption off', 'port open on switch', 'openssl critical cve'];

/**
 * Two findings databases, each with a full-text index on titles by the sqlite-utils
 * convention (one with the triggers, so rows written later are found), a third without
 * one, a view over the two indexed ones and a view over the unindexed one.
 */
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-search-'));
  for (const [name, count, indexed] of [['quality', 40, true], ['fleet', 30, true], ['plain', 12, false]] as const) {
    const file = new Database(path.join(dir, `${name}.sqlite.db`));
    file.exec('CREATE TABLE findings (id INTEGER PRIMARY KEY, title TEXT, severity TEXT, created_at TEXT); CREATE INDEX idx_created ON findings(created_at);');
    const insert = file.prepare('INSERT INTO findings VALUES (?, ?, ?, ?)');
    for (let id = 1; id <= count; id += 1) {
      insert.run(id, `${WORDS[id % WORDS.length]} ${name} ${id}${id % 5 === 0 ? ' openssl openssl' : ''}`, id % 7 === 0 ? null : ['high', 'low', 'medium'][id % 3], `2026-0${(id % 4) + 1}-${String(10 + (id % 17)).padStart(2, '0')}`);
    }
    if (indexed) {
      file.exec(`CREATE VIRTUAL TABLE findings_fts USING fts5(title, content='findings', content_rowid='id');
        INSERT INTO findings_fts(findings_fts) VALUES ('rebuild');`);
    }
    file.close();
  }
  // Enough matches of one word that a newest-first search walks the created_at index instead.
  const bulk = new Database(path.join(dir, 'bulk.sqlite.db'));
  bulk.exec(`CREATE TABLE findings (id INTEGER PRIMARY KEY, title TEXT, severity TEXT, created_at TEXT); CREATE INDEX idx_created ON findings(created_at);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2600)
    INSERT INTO findings SELECT i, CASE WHEN i % 5 = 0 THEN 'rare entry ' || i ELSE 'common entry ' || i END, 'low', printf('2026-%02d-%02d', 1 + i % 12, 1 + i % 28) FROM n;
    CREATE VIRTUAL TABLE findings_fts USING fts5(title, content='findings', content_rowid='id'); INSERT INTO findings_fts(findings_fts) VALUES ('rebuild');`);
  bulk.close();
  fs.writeFileSync(path.join(dir, 'main.db'), '');
  db = new Database(path.join(dir, 'main.db'), { readonly: true });
  for (const name of ['quality', 'fleet', 'plain', 'bulk']) db.prepare('ATTACH DATABASE ? AS ' + name).run(path.join(dir, `${name}.sqlite.db`));
  db.exec(`CREATE TEMP VIEW all_findings AS SELECT 'quality' AS source, * FROM quality.findings UNION ALL SELECT 'fleet' AS source, id, title, severity, created_at FROM fleet.findings AS f;
    CREATE TEMP VIEW high_findings AS SELECT * FROM all_findings WHERE severity = 'high';
    CREATE TEMP VIEW bulk_findings AS SELECT 'bulk' AS source, id, title, created_at FROM bulk.findings WHERE severity = 'low' OR severity = 'high';
    CREATE TEMP VIEW plain_findings AS SELECT 'plain' AS source, id, title, severity, created_at FROM plain.findings;`);
});
afterAll(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A connection of its own with `attached` databases and `views`, for objects the shared one does not list. */
function withOwnConnection(attached: Record<string, string>, views: string, test: (on: Database.Database) => void): void {
  const own = new Database(path.join(dir, 'main.db'), { readonly: true });
  try {
    for (const [name, file] of Object.entries(attached)) own.prepare(`ATTACH DATABASE ? AS "${name}"`).run(file);
    own.exec(views);
    test(own);
  } finally {
    own.close();
  }
}

function read(objectName: string, query: string, on = db) {
  const object = resolveObject(on, objectName);
  const request = parseBrowseRequest(new URLSearchParams(query), object, 100, on);
  return { object, request, page: browseRows(on, object, request, context) };
}

/** Every row of a listing, page after page by keyset. */
function walk(objectName: string, query: string, on = db) {
  const rows: Array<Record<string, unknown>> = [];
  const snippets: string[] = [];
  let cursor: string | null = null;
  do {
    const { page } = read(objectName, cursor ? `${query}&_cursor=${cursor}` : query, on);
    rows.push(...page.rows);
    snippets.push(...(page.snippets ?? []));
    cursor = page.nextCursor;
  } while (cursor);
  return { rows, snippets };
}

const groupBy = (sql: string, params: unknown[] = []) =>
  Object.fromEntries((db.prepare(sql).all(...params) as Array<{ value: unknown; n: number }>).map((row) => [String(row.value), row.n]));

describe('facets', () => {
  function facet(objectName: string, query: string, column: string, size = 10) {
    const object = resolveObject(db, objectName);
    const request = parseBrowseRequest(new URLSearchParams(query), object, 100, db);
    const counting = facetQuery(db, object, request, column, size);
    return facetOf(column, runRead(db, counting.sql, counting.params, { rowCap: size + 1 }).rows, size);
  }
  const asCounts = (f: ReturnType<typeof facet>) => ('values' in f ? Object.fromEntries(f.values.map((v) => [String(v.value), v.count])) : null);

  it('counts a table column as GROUP BY does under the filters, NULL included', () => {
    const counted = facet('quality.findings', 'created_at__gte=2026-02-01', 'severity');
    expect(asCounts(counted)).toEqual(groupBy("SELECT severity AS value, count(*) AS n FROM quality.findings WHERE created_at >= '2026-02-01' GROUP BY severity"));
    expect(asCounts(counted)).toHaveProperty('null');
  });

  it('counts a view column as GROUP BY does under the filters, NULL included', () => {
    const counted = facet('all_findings', 'source=fleet&created_at__lt=2026-04-01', 'severity');
    expect(asCounts(counted)).toEqual(
      groupBy("SELECT severity AS value, count(*) AS n FROM all_findings WHERE source = 'fleet' AND created_at < '2026-04-01' GROUP BY severity"),
    );
    expect(asCounts(counted)).toHaveProperty('null');
  });

  it('orders values by count and says when there are more than shown', () => {
    const counted = facet('all_findings', '', 'created_at', 3);
    expect('values' in counted && counted.values).toHaveLength(3);
    expect('more' in counted && counted.more).toBe(true);
    const counts = 'values' in counted ? counted.values.map((v) => v.count) : [];
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);
  });

  it('counts only the rows a search selects', () => {
    const counted = facet('all_findings', '_search=encryption', 'source');
    expect(asCounts(counted)).toEqual(groupBy("SELECT source AS value, count(*) AS n FROM all_findings WHERE title LIKE '%encryption%' GROUP BY source"));
  });

  it('suggests the columns with few distinct values from a sample, and keeps their values', () => {
    const object = resolveObject(db, 'all_findings');
    const sample = facetSample(object, runRead(db, suggestionQuery(object), [], { rowCap: 1 }).rows[0]);
    expect(sample.suggested).toEqual(['source', 'severity']);
    expect(sample.values.severity.sort()).toEqual(['high', 'low', 'medium']);
  });

  it('counts in one pass over the sampled values exactly as GROUP BY does, NULLs included', () => {
    for (const [objectName, query] of [['all_findings', 'created_at__gte=2026-02-01'], ['quality.findings', ''], ['all_findings', '_search=openssl']]) {
      const object = resolveObject(db, objectName);
      const request = parseBrowseRequest(new URLSearchParams(query), object, 100, db);
      const known = knownValuesQuery(db, object, request, 'severity', ['high', 'low', 'medium']);
      const byKnown = facetFromKnown('severity', ['high', 'low', 'medium'], runRead(db, known.sql, known.params, { rowCap: 1 }).rows[0], 10);
      expect(byKnown).toEqual(facet(objectName, query, 'severity'));
    }
  });

  it('leaves a facet to GROUP BY when the one pass meets a value the sample did not see', () => {
    const object = resolveObject(db, 'all_findings');
    const request = parseBrowseRequest(new URLSearchParams(''), object, 100, db);
    const known = knownValuesQuery(db, object, request, 'severity', ['high', 'low']);
    expect(facetFromKnown('severity', ['high', 'low'], runRead(db, known.sql, known.params, { rowCap: 1 }).rows[0], 10)).toBeNull();
  });

  it('refuses a facet on a column the object does not have', () => {
    expect(() => read('all_findings', '_facet=nope')).toThrow(/all_findings has no column "nope"/);
  });
});

describe('full-text search', () => {
  it('finds in a table by its index, best matches first, with the matches marked', () => {
    const { page } = read('quality.findings', '_search=openssl');
    const expected = db.prepare("SELECT count(*) FROM quality.findings WHERE title LIKE '%openssl%'").pluck().get();
    expect(walk('quality.findings', '_search=openssl').rows).toHaveLength(expected as number);
    // Titles that say openssl three times rank above those that say it once.
    expect(String(page.rows[0].title)).toMatch(/openssl openssl$/);
    expect(page.snippets![0]).toContain(`${MATCH_START}openssl${MATCH_END}`);
    expect(snippetSegments(page.snippets![0]).some((s) => s.match && s.text === 'openssl')).toBe(true);
    expect(page.rows[0]).not.toHaveProperty('__yard_rank');
  });

  it('searches a view through the indexes of the tables its arms read', () => {
    const { rows, snippets } = walk('all_findings', '_search=openssl&_size=7');
    const expected = db.prepare("SELECT source, id FROM all_findings WHERE title LIKE '%openssl%' ORDER BY source, id").all();
    expect(rows.map((r) => ({ source: r.source, id: r.id })).sort((a, b) => String(a.source).localeCompare(String(b.source)) || Number(a.id) - Number(b.id))).toEqual(expected);
    expect(new Set(rows.map((r) => JSON.stringify(r))).size).toBe(rows.length);
    expect(snippets.every((s) => s.includes(MATCH_START))).toBe(true);
    expect(Object.keys(rows[0])).toEqual(['source', 'id', 'title', 'severity', 'created_at']);
  });

  it('searches a view over another view through the indexes underneath', () => {
    const { rows, snippets } = walk('high_findings', '_search=openssl');
    const expected = db.prepare("SELECT count(*) FROM all_findings WHERE severity = 'high' AND title LIKE '%openssl%'").pluck().get();
    expect(rows).toHaveLength(expected as number);
    expect(snippets).toHaveLength(rows.length);
  });

  it('combines with filters and a sort, and pages by keyset in both directions', () => {
    const query = '_search=openssl&severity=high&_sort=created_at&_desc=1&_size=3';
    const { rows } = walk('all_findings', query);
    const expected = db.prepare("SELECT source, id, created_at FROM all_findings WHERE title LIKE '%openssl%' AND severity = 'high' ORDER BY created_at DESC").all() as Array<{ created_at: string }>;
    expect(rows.map((r) => r.created_at)).toEqual(expected.map((r) => r.created_at));
    const second = read('all_findings', `${query}&_cursor=${read('all_findings', query).page.nextCursor}`).page;
    const back = read('all_findings', `${query}&_cursor=${second.prevCursor}&_dir=prev`).page;
    expect(back.rows).toEqual(read('all_findings', query).page.rows);
    expect(countRows(db, resolveObject(db, 'all_findings'), read('all_findings', query).request, 1000).count).toBe(expected.length);
  });

  it('walks the sort index for a word with many matches and reads the same rows as for a few', () => {
    for (const objectName of ['bulk.findings', 'bulk_findings']) {
      for (const word of ['common', 'rare']) {
        const { rows, snippets } = walk(objectName, `_search=${word}&_sort=created_at&_desc=1&_size=100`);
        const expected = db.prepare(`SELECT id FROM bulk.findings WHERE title LIKE '${word} %' ORDER BY created_at DESC, id`).pluck().all() as number[];
        expect(rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b))).toEqual([...expected].sort((a, b) => a - b));
        expect(rows.map((r) => r.created_at)).toEqual([...rows.map((r) => r.created_at)].sort().reverse());
        expect(snippets.every((s) => s.startsWith(`${MATCH_START}${word}${MATCH_END} entry`))).toBe(true);
      }
    }
  });

  it('refuses a cursor from an unsearched listing', () => {
    const cursor = read('all_findings', '_sort=created_at').page.nextCursor;
    expect(() => read('all_findings', `_sort=created_at&_search=openssl&_cursor=${cursor}`)).toThrow(BrowseError);
  });

  it('answers full-text syntax errors with a readable 400', () => {
    let error: unknown;
    try {
      read('all_findings', '_search=' + encodeURIComponent('openssl AND ('));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BrowseError);
    expect((error as BrowseError).status).toBe(400);
    expect((error as BrowseError).code).toBe('bad_search');
    expect((error as BrowseError).message).toMatch(/not valid full-text search syntax.*double quotes/);
  });

  it('exports what the search selects', () => {
    const object = resolveObject(db, 'all_findings');
    const { rows } = exportRows(db, object, parseBrowseRequest(new URLSearchParams('_search=encryption'), object, 100, db));
    const exported = [...rows];
    expect(exported.every((row) => String(row.title).includes('encryption'))).toBe(true);
    expect(exported).toHaveLength(db.prepare("SELECT count(*) FROM all_findings WHERE title LIKE '%encryption%'").pluck().get() as number);
  });

  it('refuses a column filter that some arm of a view has no index column for, naming the columns every arm has', () => {
    const notesFile = path.join(dir, 'notes.sqlite.db');
    const notes = new Database(notesFile);
    notes.exec(`CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
      INSERT INTO notes VALUES (1, 'openssl note', 'openssl body');
      CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts USING fts5(title, body, content='notes', content_rowid='id');
      INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');`);
    notes.close();
    withOwnConnection({ quality: path.join(dir, 'quality.sqlite.db'), notes: notesFile }, 'CREATE TEMP VIEW mixed AS SELECT id, title FROM quality.findings UNION ALL SELECT id, title FROM notes.notes', (mixed) => {
      expect(read('mixed', '_search=title%3Aopenssl', mixed).page.rows.length).toBeGreaterThan(0);
      expect(() => read('mixed', '_search=body%3Aopenssl', mixed)).toThrow(/not valid full-text search syntax.*searchable columns: title\)/);
    });
  });

  it('searches a view through the index of a table whose database name holds a dot', () => {
    withOwnConnection({ 'quality.v2': path.join(dir, 'quality.sqlite.db') }, 'CREATE TEMP VIEW v2_findings AS SELECT * FROM "quality.v2".findings', (dotted) => {
      const { page } = read('v2_findings', '_search=encryption', dotted);
      expect(page.rows.length).toBeGreaterThan(0);
      expect(page.snippets?.every((snippet) => snippet.includes(`${MATCH_START}encryption${MATCH_END}`))).toBe(true);
    });
  });

  it("searches a view that groups its table's rows in the view's own rows, its groups unchanged", () => {
    const bySeverity = "CREATE TEMP VIEW by_severity AS SELECT severity, count(*) AS n, group_concat(title, ' | ') AS titles FROM quality.findings GROUP BY severity";
    withOwnConnection({ quality: path.join(dir, 'quality.sqlite.db') }, bySeverity, (grouped) => {
      const all = grouped.prepare('SELECT severity, n FROM by_severity ORDER BY severity').all();
      const { page } = read('by_severity', '_search=outdated&_sort=severity', grouped);
      // Every group holds an "openssl outdated" title: each is found, with the count of all its rows.
      expect(page.rows.map((row) => ({ severity: row.severity, n: row.n }))).toEqual(all);
      expect(page.searchNote).toMatch(/groups, limits or joins the rows of its tables/);
    });
  });

  it('falls back to a substring search without an index, and says which index to create', () => {
    const { page } = read('plain_findings', '_search=encryption');
    expect(page.rows.length).toBeGreaterThan(0);
    expect(page.rows.every((row) => String(row.title).includes('encryption'))).toBe(true);
    expect(page.snippets).toBeUndefined();
    expect(page.searchNote).toContain(`CREATE VIRTUAL TABLE "findings_fts" USING fts5("title", "severity", content='findings');`);
    expect(page.searchNote).toContain("INSERT INTO \"findings_fts\"(\"findings_fts\") VALUES ('rebuild');");
    expect(() => read('plain_findings', '_search=x&_sort=_rank')).toThrow(/needs a _search over a full-text index/);
  });
});

describe('full-text search of a common word, newest first', () => {
  let recentDir: string;
  let recent: Database.Database;
  const executed: string[] = [];

  /**
   * Two findings databases written over time: rowids mostly follow created_at (a few rows
   * backdated, ties, some without a date) but not updated_at; `common` in three titles of
   * four, `filed` only in the older half, `sparse` in one of forty. A view over both, and
   * one over that view.
   */
  beforeAll(() => {
    recentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-search-recent-'));
    for (const [name, count] of [['north', 6000], ['south', 3000]] as const) {
      const file = new Database(path.join(recentDir, `${name}.sqlite.db`));
      file.exec(`CREATE TABLE findings (id INTEGER PRIMARY KEY, title TEXT, severity TEXT, created_at TEXT, updated_at TEXT);
        CREATE INDEX idx_created ON findings(created_at); CREATE INDEX idx_updated ON findings(updated_at);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
        INSERT INTO findings SELECT i,
          concat_ws(' ', CASE WHEN i % 4 != 0 THEN 'common' END, CASE WHEN i <= ${count / 2} THEN 'filed' END, CASE WHEN i % 40 = 0 THEN 'sparse' END, '${name}', i),
          CASE i % 3 WHEN 0 THEN 'high' WHEN 1 THEN 'low' ELSE 'medium' END,
          CASE WHEN i % 97 = 0 THEN NULL WHEN i % 50 = 0 THEN printf('2025-%05d', i) ELSE printf('2026-%05d', i * ${name === 'north' ? 1 : 2} / 3) END,
          printf('%05d', i * 7919 % ${count})
        FROM n;
        CREATE VIRTUAL TABLE findings_fts USING fts5(title, content='findings', content_rowid='id'); INSERT INTO findings_fts(findings_fts) VALUES ('rebuild');`);
      file.close();
    }
    fs.writeFileSync(path.join(recentDir, 'main.db'), '');
    recent = new Database(path.join(recentDir, 'main.db'), { readonly: true });
    for (const name of ['north', 'south']) recent.prepare(`ATTACH DATABASE ? AS ${name}`).run(path.join(recentDir, `${name}.sqlite.db`));
    recent.exec(`CREATE TEMP VIEW recent_findings AS SELECT 'north' AS source, * FROM north.findings UNION ALL SELECT 'south' AS source, id, title, severity, created_at, updated_at FROM south.findings;
      CREATE TEMP VIEW recent_urgent AS SELECT source, id, title, severity, created_at FROM recent_findings WHERE severity != 'medium';`);
    // Which statements run (compiled ones are kept and run again), to tell how a page was read.
    const prepare = recent.prepare.bind(recent);
    recent.prepare = ((sql: string) => {
      const statement = prepare(sql);
      for (const run of ['all', 'get', 'iterate'] as const) {
        const original = statement[run].bind(statement) as (...params: unknown[]) => unknown;
        Object.assign(statement, { [run]: (...params: unknown[]) => (executed.push(sql), original(...params)) });
      }
      return statement;
    }) as typeof recent.prepare;
  });
  afterAll(() => {
    recent.close();
    fs.rmSync(recentDir, { recursive: true, force: true });
  });

  const readRecent = (objectName: string, query: string) => read(objectName, query, recent).page;

  const key = (row: Record<string, unknown>) => `${row.source ?? ''}:${row.id}`;

  it('reads the same rows in the same order as a query over every match, across pages, with a filter, either way', () => {
    // A word in thousands of titles is read a window at a time (the matches within a range of
    // rowids), unless the sort scatters rowids (updated_at); a rarer word by all its matches.
    const cases: Array<{ objectName: string; word: string; filter?: string; sort?: string; asc?: boolean; size?: number; window: boolean }> = [
      { objectName: 'recent_findings', word: 'common', window: true },
      { objectName: 'recent_findings', word: 'common', filter: 'severity=high', window: true },
      { objectName: 'recent_findings', word: 'common', asc: true, window: true },
      { objectName: 'recent_findings', word: 'filed', window: true },
      { objectName: 'recent_findings', word: 'sparse', window: false },
      { objectName: 'recent_findings', word: 'common', filter: 'severity=high', sort: 'updated_at', size: 8, window: false },
      { objectName: 'recent_urgent', word: 'common', filter: 'severity=low', window: true },
      { objectName: 'north.findings', word: 'common', window: true },
      { objectName: 'north.findings', word: 'filed', filter: 'severity=medium', window: true },
    ];
    for (const { objectName, word, filter, sort = 'created_at', asc = false, size = 40, window } of cases) {
      executed.length = 0;
      const query = `_search=${word}&_sort=${sort}${asc ? '' : '&_desc=1'}&_size=${size}${filter ? `&${filter}` : ''}`;
      const { rows, snippets } = walk(objectName, query, recent);
      const where = filter ? `AND ${filter.replace('=', " = '")}'` : '';
      const table = objectName.includes('.') ? `(SELECT NULL AS source, * FROM ${objectName})` : objectName;
      const expected = recent
        .prepare(`SELECT source, id, ${sort} AS sorted FROM ${table} WHERE (' ' || title || ' ') LIKE '% ${word} %' ${where} ORDER BY ${sort} ${asc ? 'ASC' : 'DESC'}`)
        .all() as Array<Record<string, unknown>>;
      const label = `${objectName} ${query}`;
      expect(rows.length, label).toBe(expected.length);
      expect(rows.map((r) => r[sort]), label).toEqual(expected.map((r) => r.sorted));
      expect(rows.map(key).sort(), label).toEqual(expected.map(key).sort());
      expect(snippets.every((s) => s.includes(`${MATCH_START}${word}${MATCH_END}`)), label).toBe(true);
      expect(executed.some((sql) => sql.includes('rowid BETWEEN')), label).toBe(window);
    }
  });

  it('pages back to the same rows it paged forward through, across ties and rows without a date', () => {
    for (const query of ['_search=common&severity=high&_sort=created_at&_desc=1&_size=40', '_search=common&severity=high&_sort=created_at&_size=40']) {
      const forward = [readRecent('recent_findings', query)];
      while (forward.at(-1)!.nextCursor) forward.push(readRecent('recent_findings', `${query}&_cursor=${forward.at(-1)!.nextCursor}`));
      for (let i = forward.length - 1; i > 0; i -= 1) {
        const back = readRecent('recent_findings', `${query}&_cursor=${forward[i].prevCursor}&_dir=prev`);
        expect(back.rows, `${query}, back from page ${i + 1}`).toEqual(forward[i - 1].rows);
      }
    }
  });

  it('reads the newest rows of a word that the newest titles do not have', () => {
    const page = readRecent('recent_findings', '_search=filed&_sort=created_at&_desc=1&_size=10');
    const expected = recent.prepare("SELECT created_at FROM recent_findings WHERE title LIKE '%filed%' ORDER BY created_at DESC LIMIT 10").pluck().all();
    expect(page.rows.map((row) => row.created_at)).toEqual(expected);
  });

  it('counts the rows a search selects, in the indexes or, where a view or filter keeps some rows only, in the rows', () => {
    const cases: Array<[string, string, string]> = [
      ['recent_findings', 'common', ''],
      ['recent_findings', 'filed', 'severity=high'],
      ['recent_urgent', 'common', ''],
      ['north.findings', 'common', ''],
      ['north.findings', 'sparse', 'severity=low'],
    ];
    for (const [objectName, word, filter] of cases) {
      const object = resolveObject(recent, objectName);
      const request = parseBrowseRequest(new URLSearchParams(`_search=${word}${filter ? `&${filter}` : ''}`), object, 100, recent);
      const where = filter ? `AND ${filter.replace('=', " = '")}'` : '';
      const expected = recent.prepare(`SELECT count(*) FROM ${objectName} WHERE title LIKE '%${word}%' ${where}`).pluck().get() as number;
      expect(countRows(recent, object, request, 100_000), `${objectName} ${word} ${filter}`).toEqual({ count: expected, capped: false });
      expect(countRows(recent, object, request, 100), `${objectName} ${word} ${filter}`).toEqual({ count: Math.min(expected, 100), capped: expected > 100 });
    }
  });
});
