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

  it('leaves the connection usable after stopping early', () => {
    runRead(db, 'SELECT n FROM t', [], { rowCap: 1 });
    expect(() => db.close()).not.toThrow();
    db = new Database(':memory:');
  });

  it('turns SQLite errors into query errors', () => {
    expect(() => runRead(db, 'SELECT nope FROM t', [], { rowCap: 1 })).toThrow(QueryError);
    expect(() => runRead(db, 'DELETE FROM t', [], { rowCap: 1 })).toThrow(/only statements that return rows/);
  });

  it('streams every row for exports', () => {
    const { columns, rows } = iterateRead(db, 'SELECT n FROM t');
    expect(columns).toEqual(['n']);
    expect([...rows]).toHaveLength(25);
  });
});
