import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iterateRead, QueryError, runRead } from './run.ts';

let db: Database.Database;
beforeEach(() => {
  db = new Database(':memory:');
  db.exec('CREATE TABLE t (n INTEGER); WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 25) INSERT INTO t SELECT n FROM c;');
});
afterEach(() => db.close());

describe('read query execution', () => {
  it('returns columns and rows under the cap', () => {
    expect(runRead(db, 'SELECT n FROM t WHERE n <= ?', [3], { rowCap: 10 })).toEqual({ columns: ['n'], rows: [{ n: 1 }, { n: 2 }, { n: 3 }], truncated: false });
  });

  it('stops at the row cap and says so', () => {
    const result = runRead(db, 'SELECT n FROM t ORDER BY n', [], { rowCap: 10 });
    expect(result.rows).toHaveLength(10);
    expect(result.truncated).toBe(true);
  });

  it('reads a statement with its own LIMIT within the cap in one call, and still caps one beyond it', () => {
    const sql = 'SELECT n FROM t ORDER BY n LIMIT ?';
    expect(runRead(db, sql, [3], { rowCap: 10, statementLimit: 3 })).toEqual(runRead(db, sql, [3], { rowCap: 10 }));
    expect(runRead(db, sql, [3], { rowCap: 10, statementLimit: 3 }).rows).toHaveLength(3);
    const capped = runRead(db, sql, [20], { rowCap: 10, statementLimit: 20 });
    expect(capped.rows).toHaveLength(10);
    expect(capped.truncated).toBe(true);
  });

  it('leaves the connection usable after stopping early', () => {
    runRead(db, 'SELECT n FROM t', [], { rowCap: 1 });
    expect(() => db.close()).not.toThrow();
    db = new Database(':memory:');
  });

  it('turns SQLite errors into query errors', () => {
    expect(() => runRead(db, 'SELECT nope FROM t', [], { rowCap: 1 })).toThrow(QueryError);
    expect(() => runRead(db, 'DELETE FROM t', [], { rowCap: 1 })).toThrow(/only statements that return rows/);
  });

  it('names the columns a statement has now, after a writer added one since it was kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-run-'));
    const file = path.join(dir, 'evidence.db');
    const writer = new Database(file);
    const reader = new Database(file, { readonly: true });
    try {
      writer.exec("CREATE TABLE f (a); INSERT INTO f VALUES ('x')");
      expect(runRead(reader, 'SELECT * FROM f', [], { rowCap: 10 })).toMatchObject({ columns: ['a'], rows: [{ a: 'x' }] });
      writer.exec("ALTER TABLE f ADD COLUMN b DEFAULT 'y'");
      expect(runRead(reader, 'SELECT * FROM f', [], { rowCap: 10 })).toMatchObject({ columns: ['a', 'b'], rows: [{ a: 'x', b: 'y' }] });
    } finally {
      reader.close();
      writer.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a column named __proto__ as a column, and the last of two columns of one name', () => {
    const [row] = runRead(db, "SELECT 1 AS __proto__, 'a' AS x, 'b' AS x", [], { rowCap: 1 }).rows;
    expect(Object.keys(row!)).toEqual(['__proto__', 'x']);
    expect(row!['__proto__']).toBe(1);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(row!.x).toBe('b');
    expect(JSON.parse(JSON.stringify(row))).toEqual(JSON.parse('{"__proto__":1,"x":"b"}'));
  });

  it('streams every row for exports', () => {
    const { columns, rows } = iterateRead(db, 'SELECT n FROM t');
    expect(columns).toEqual(['n']);
    expect([...rows]).toHaveLength(25);
  });
});
