import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browseRows, countRows, exportRows, getRow, parseBrowseRequest, readsInIndexOrder, RowBudgetExceeded, type BrowseRequest } from './browse.ts';
import { BrowseError, listObjects, resolveObject } from './objects.ts';
import { decodeRowKey, encodeRowKey } from './cursor.ts';

let dir: string;
let db: Database.Database;
const context = { contextName: 'tenant/acme', secret: crypto.randomBytes(32), rowCap: 1000 };
const severities = ['high', 'low', 'medium'];

/** Two databases with a findings table each, attached read-only, and a TEMP view over both. */
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-browse-'));
  for (const [name, count] of [['quality', 37], ['fleet', 24]] as const) {
    const file = new Database(path.join(dir, `${name}.sqlite.db`));
    file.exec('CREATE TABLE findings (id INTEGER PRIMARY KEY, title TEXT, severity TEXT, created_at TEXT); CREATE INDEX idx_created ON findings(created_at);');
    const insert = file.prepare('INSERT INTO findings VALUES (?, ?, ?, ?)');
    for (let id = 1; id <= count; id += 1) {
      // Many ties on created_at, and some NULLs, to exercise paging through equal values.
      const created = id % 9 === 0 ? null : `2026-0${(id % 4) + 1}-01`;
      insert.run(id, `${name} finding ${id} 50%_off`, severities[id % 3], created);
    }
    file.close();
  }
  fs.writeFileSync(path.join(dir, 'main.db'), '');
  db = new Database(path.join(dir, 'main.db'), { readonly: true });
  db.prepare('ATTACH DATABASE ? AS quality').run(path.join(dir, 'quality.sqlite.db'));
  db.prepare('ATTACH DATABASE ? AS fleet').run(path.join(dir, 'fleet.sqlite.db'));
  db.exec("CREATE TEMP VIEW all_findings AS SELECT 'quality' AS source, * FROM quality.findings UNION ALL SELECT 'fleet', * FROM fleet.findings");
});
afterAll(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function request(objectName: string, query: string): BrowseRequest {
  return parseBrowseRequest(new URLSearchParams(query), resolveObject(db, objectName), 100, db);
}

/** Follows next links to the end, then prev links back to the start, collecting pages. */
function walk(objectName: string, query: string) {
  const object = resolveObject(db, objectName);
  const forward: Array<Record<string, unknown>[]> = [];
  let page = browseRows(db, object, request(objectName, query), context);
  forward.push(page.rows);
  while (page.nextCursor) {
    page = browseRows(db, object, request(objectName, `${query}&_cursor=${page.nextCursor}`), context);
    forward.push(page.rows);
  }
  const backward: Array<Record<string, unknown>[]> = [page.rows];
  while (page.prevCursor) {
    page = browseRows(db, object, request(objectName, `${query}&_cursor=${page.prevCursor}&_dir=prev`), context);
    backward.unshift(page.rows);
  }
  return { forward, backward };
}

function everything(objectName: string, orderBy: string): Record<string, unknown>[] {
  return db.prepare(`SELECT * FROM ${objectName} ${orderBy}`).all() as Record<string, unknown>[];
}

const key = (row: Record<string, unknown>) => `${row.source ?? ''}:${row.id}`;

describe('browse: objects', () => {
  it('lists TEMP views first, then every attached table, with columns', () => {
    const objects = listObjects(db);
    expect(objects.map((o) => [o.name, o.kind])).toEqual([
      ['all_findings', 'view'],
      ['quality.findings', 'table'],
      ['fleet.findings', 'table'],
    ]);
    expect(objects[0].columns.map((c) => c.name)).toEqual(['source', 'id', 'title', 'severity', 'created_at']);
    expect(objects[1].columns.find((c) => c.name === 'id')).toMatchObject({ type: 'INTEGER', pk: 1 });
  });

  it('refuses an object that does not exist', () => {
    expect(() => resolveObject(db, 'sqlite_master')).toThrow(BrowseError);
    expect(() => resolveObject(db, 'quality.findings; DROP TABLE x')).toThrow(/no table or view/);
  });
});

describe('browse: keyset paging', () => {
  it.each([
    ['a view sorted by a column with ties and NULLs, newest first', 'all_findings', '_sort=created_at&_desc=1&_size=7'],
    ['a view sorted ascending', 'all_findings', '_sort=created_at&_size=5'],
    ['a view in its default order', 'all_findings', '_size=10'],
    ['a table by rowid', 'quality.findings', '_size=8'],
    ['a table by a tied column, descending', 'quality.findings', '_sort=severity&_desc=1&_size=6'],
    ['a filtered view', 'all_findings', 'severity=high&_sort=created_at&_size=4'],
  ])('visits every row exactly once forward and comes back to the same pages: %s', (_name, objectName, query) => {
    const { forward, backward } = walk(objectName, query);
    const seen = forward.flat().map(key);
    const params = new URLSearchParams(query);
    const expected = everything(objectName, params.get('severity') ? `WHERE severity = '${params.get('severity')}'` : '').map(key);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...expected].sort());
    expect(backward).toEqual(forward);
    const size = Number(params.get('_size'));
    expect(forward.slice(0, -1).every((rows) => rows.length === size)).toBe(true);
  });

  it('orders rows as SQL would, NULLs last when descending', () => {
    const { forward } = walk('all_findings', '_sort=created_at&_desc=1&_size=9');
    const values = forward.flat().map((row) => row.created_at as string | null);
    const nonNull = values.filter((v) => v !== null);
    expect(nonNull).toEqual([...nonNull].sort().reverse());
    expect(values.slice(-nonNull.length - 1).indexOf(null)).toBeGreaterThan(-1);
    expect(values.slice(values.indexOf(null)).every((v) => v === null)).toBe(true);
  });

  it('refuses a tampered cursor, and one made for another sort', () => {
    const object = resolveObject(db, 'all_findings');
    const page = browseRows(db, object, request('all_findings', '_sort=created_at&_size=5'), context);
    const tampered = `${page.nextCursor!.slice(0, 5)}${page.nextCursor![5] === 'A' ? 'B' : 'A'}${page.nextCursor!.slice(6)}`;
    expect(() => browseRows(db, object, request('all_findings', `_sort=created_at&_size=5&_cursor=${tampered}`), context)).toThrow(/not valid/);
    expect(() => browseRows(db, object, request('all_findings', `_sort=title&_size=5&_cursor=${page.nextCursor}`), context)).toThrow(/another table, sort or filter/);
    expect(() => browseRows(db, object, request('all_findings', `_sort=created_at&_size=5&_cursor=${page.nextCursor}`), { ...context, contextName: 'tenant/globex' })).toThrow(/another table/);
    expect(() => browseRows(db, object, request('all_findings', '_sort=created_at&_size=5&_cursor=garbage'), context)).toThrow(BrowseError);
  });

  it('refuses unknown sort columns and page sizes out of range', () => {
    expect(() => request('all_findings', '_sort=nope')).toThrow(/no column "nope"/);
    expect(() => request('all_findings', '_size=0')).toThrow(/_size must be a whole number from 1 to 100/);
    expect(() => request('all_findings', '_size=abc')).toThrow(BrowseError);
  });
});

describe('browse: filters', () => {
  const rows = (objectName: string, query: string) => browseRows(db, resolveObject(db, objectName), request(objectName, `${query}&_size=100`), context).rows;

  it.each([
    ['severity=high', (r: Record<string, unknown>) => r.severity === 'high'],
    ['severity__not=high', (r: Record<string, unknown>) => r.severity !== 'high'],
    ['title__contains=finding 1', (r: Record<string, unknown>) => String(r.title).includes('finding 1')],
    ['title__startswith=fleet', (r: Record<string, unknown>) => String(r.title).startsWith('fleet')],
    ['id__gt=30', (r: Record<string, unknown>) => Number(r.id) > 30],
    ['id__gte=30', (r: Record<string, unknown>) => Number(r.id) >= 30],
    ['id__lt=3', (r: Record<string, unknown>) => Number(r.id) < 3],
    ['id__lte=3', (r: Record<string, unknown>) => Number(r.id) <= 3],
    ['severity__in=high,low', (r: Record<string, unknown>) => r.severity === 'high' || r.severity === 'low'],
    ['created_at__isnull=1', (r: Record<string, unknown>) => r.created_at === null],
    ['created_at__notnull=1', (r: Record<string, unknown>) => r.created_at !== null],
  ])('%s keeps exactly the matching rows', (query, matches) => {
    const all = everything('all_findings', '');
    const expected = all.filter(matches).map(key).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(rows('all_findings', query).map(key).sort()).toEqual(expected);
  });

  it('treats % and _ in contains as plain characters', () => {
    expect(rows('all_findings', 'title__contains=50%_off')).toHaveLength(61);
    expect(rows('all_findings', 'title__contains=5_%')).toHaveLength(0);
  });

  it('names an unknown column or operator', () => {
    expect(() => request('all_findings', 'nope=1')).toThrow(/no column "nope"; its columns are source, id/);
    expect(() => request('all_findings', 'severity__between=1')).toThrow(/"between" in "severity__between" is not a filter operator/);
  });

  it('binds hostile values instead of running them', () => {
    expect(rows('all_findings', "severity=high' OR '1'='1")).toEqual([]);
  });
});

describe('browse: counts, export and row detail', () => {
  it('counts matching rows up to a cap', () => {
    const object = resolveObject(db, 'all_findings');
    expect(countRows(db, object, request('all_findings', ''), 1000)).toEqual({ count: 61, capped: false });
    expect(countRows(db, object, request('all_findings', ''), 10)).toEqual({ count: 10, capped: true });
  });

  it('streams every filtered row in order for export', () => {
    const { columns, rows } = exportRows(db, resolveObject(db, 'all_findings'), request('all_findings', 'severity=low&_sort=id&_desc=1'));
    const all = [...rows];
    expect(columns).toEqual(['source', 'id', 'title', 'severity', 'created_at']);
    expect(all.every((r) => r.severity === 'low')).toBe(true);
    expect(all.length).toBe(everything('all_findings', "WHERE severity = 'low'").length);
  });

  it('finds a row again by its key, for tables and views', () => {
    for (const name of ['quality.findings', 'all_findings']) {
      const req = request(name, '_sort=created_at&_size=10');
      const page = browseRows(db, resolveObject(db, name), req, context);
      expect(getRow(db, resolveObject(db, name), page.rowKeys[7], req, context)).toEqual(page.rows[7]);
    }
  });

  it("finds a view's row by its key after a restart, and refuses the key under another sort or once edited", () => {
    const view = resolveObject(db, 'all_findings');
    const req = request('all_findings', '_sort=created_at&_size=10');
    const page = browseRows(db, view, req, context);
    // A restart brings a new cursor secret; row keys do not depend on it.
    const restarted = { ...context, secret: crypto.randomBytes(32) };
    expect(page.rowKeys.map((key) => getRow(db, view, key, req, restarted))).toEqual(page.rows);
    expect(() => getRow(db, view, page.rowKeys[3]!, request('all_findings', '_sort=title&_size=10'), context)).toThrow(/does not belong to this listing/);
    const [tag] = page.rowKeys[3]!.slice(1).split('.');
    for (const key of [`p${tag}.-1.s2026-01-01`, `p${tag}.1e3.s2026-01-01`, `p${tag}.0`, `p${tag}.0.x1`, `p${tag}.0.nabc`, `p${tag}.0.n`, `p${tag}.0.zx`, `p${tag}`, `p.0.s2026-01-01`]) {
      expect(() => getRow(db, view, key, req, context), key).toThrow(BrowseError);
    }
    // What a key holds comes back as it went: text with dots, numbers, NULL.
    for (const value of ['a.b.c', '', 2.5, -3, null]) {
      expect(decodeRowKey('tag', encodeRowKey('tag', { value, tieIndex: 4 }))).toEqual({ value, tieIndex: 4 });
    }
  });

  it('leaves a previous page that would count a large group of tied rows to be read where a deadline stops it', () => {
    const view = resolveObject(db, 'all_findings');
    const first = browseRows(db, view, request('all_findings', '_sort=created_at&_size=10'), context);
    const second = browseRows(db, view, request('all_findings', `_sort=created_at&_size=10&_cursor=${first.nextCursor}`), context);
    const back = request('all_findings', `_sort=created_at&_size=10&_cursor=${second.prevCursor}&_dir=prev`);
    // Each created_at is shared by about a dozen rows: more than a budget of 2 to count here.
    expect(() => browseRows(db, view, back, { ...context, rowBudget: 2 })).toThrow(RowBudgetExceeded);
    expect(browseRows(db, view, back, context).rows).toEqual(first.rows);
  });

  it('leaves a position deep among rows tied on the sort value to be read where a deadline stops it', () => {
    const view = resolveObject(db, 'all_findings');
    const req = request('all_findings', '_sort=created_at&_size=60');
    const page = browseRows(db, view, req, context);
    const budgeted = { ...context, rowBudget: 2 };
    const outcomes = page.rowKeys.map((key) => {
      try {
        return getRow(db, view, key, req, budgeted) === null ? 'gone' : 'read';
      } catch (error) {
        if (error instanceof RowBudgetExceeded) return 'left';
        throw error;
      }
    });
    // Each created_at is shared by about a dozen rows: the first few of each group are read, the rest left.
    expect(outcomes).toContain('read');
    expect(outcomes).toContain('left');
    expect(outcomes).not.toContain('gone');
  });
});

describe('index order', () => {
  it('knows a listing is read in index order when each arm of a view has an index on the sort column, or for rowid order', () => {
    expect(readsInIndexOrder(db, resolveObject(db, 'all_findings'), { sortColumn: 'created_at', desc: true })).toBe(true);
    expect(readsInIndexOrder(db, resolveObject(db, 'quality.findings'), { sortColumn: 'rowid', desc: false })).toBe(true);
  });

  it('knows a listing sorted on a column without an index must be sorted whole first', () => {
    expect(readsInIndexOrder(db, resolveObject(db, 'all_findings'), { sortColumn: 'title', desc: false })).toBe(false);
    expect(readsInIndexOrder(db, resolveObject(db, 'quality.findings'), { sortColumn: 'severity', desc: true })).toBe(false);
  });
});

describe('filtered pages walked in index order with a row budget', () => {
  /** Every page forward, each read by walking at most `rowBudget` rows of the listing in order. */
  function forwardWithBudget(objectName: string, query: string, rowBudget: number) {
    const object = resolveObject(db, objectName);
    const pages: Array<Record<string, unknown>[]> = [];
    let page = browseRows(db, object, request(objectName, query), { ...context, rowBudget });
    pages.push(page.rows);
    while (page.nextCursor) {
      page = browseRows(db, object, request(objectName, `${query}&_cursor=${page.nextCursor}`), { ...context, rowBudget });
      pages.push(page.rows);
    }
    return pages;
  }

  it('reads the same pages as sorting every match, ties and NULLs included, for views and tables', () => {
    for (const [objectName, query] of [
      ['all_findings', 'severity=high&_sort=created_at&_desc=1&_size=4'],
      ['all_findings', 'severity__in=high,low&_sort=created_at&_size=5'],
      ['quality.findings', 'severity=medium&_size=3'],
      ['quality.findings', 'severity=low&_sort=created_at&_desc=1&_size=2'],
    ] as const) {
      expect(forwardWithBudget(objectName, query, 30), `${objectName}?${query}`).toEqual(walk(objectName, query).forward);
    }
  });

  it('gives up on a filter too rare to fill a page within the budget, so the page is read another way', () => {
    const object = resolveObject(db, 'all_findings');
    expect(() => browseRows(db, object, request('all_findings', 'title__contains=finding 7 &_sort=created_at&_desc=1&_size=5'), { ...context, rowBudget: 10 })).toThrow(RowBudgetExceeded);
    // The end of the listing within the budget is an answer, not a reason to give up.
    expect(browseRows(db, object, request('all_findings', 'title__contains=finding 7 &_sort=created_at&_desc=1&_size=5'), { ...context, rowBudget: 1000 }).rows.length).toBeGreaterThan(0);
  });
});
