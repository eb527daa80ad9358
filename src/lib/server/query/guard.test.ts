import { describe, expect, it } from 'vitest';
import { assertReadOnlyQuery } from './guard.ts';
import { QueryError } from './run.ts';

describe('read-only query guard', () => {
  it('admits one SELECT, WITH or VALUES statement, with or without a trailing semicolon', () => {
    for (const sql of ['SELECT 1', 'select * from all_findings;', 'WITH x AS (SELECT 1) SELECT * FROM x', 'VALUES (1)', "SELECT ';' -- ; DROP\n"]) {
      expect(() => assertReadOnlyQuery(sql), sql).not.toThrow();
    }
  });

  it.each([
    ['ATTACH DATABASE \'x.db\' AS x', /ATTACH DATABASE statements cannot be run here/],
    ['DETACH x', /DETACH DATABASE statements cannot be run here/],
    ['PRAGMA writable_schema = 1', /PRAGMA statements cannot be run here/],
    ['DELETE FROM findings', /DELETE statements cannot be run here/],
    ['SELECT 1; SELECT 2', /2 statements given/],
    ['', /no statement given/],
    ['SELEC 1', /does not parse/],
    ['EXPLAIN SELECT 1', /EXPLAIN statements cannot be run here/],
  ])('refuses %s with a reason', (sql, reason) => {
    expect(() => assertReadOnlyQuery(sql)).toThrow(QueryError);
    expect(() => assertReadOnlyQuery(sql)).toThrow(reason);
  });

  it('admits EXPLAIN of a SELECT only when asked to', () => {
    expect(() => assertReadOnlyQuery('EXPLAIN QUERY PLAN SELECT 1', { allowExplain: true })).not.toThrow();
    expect(() => assertReadOnlyQuery('EXPLAIN DELETE FROM t', { allowExplain: true })).toThrow(QueryError);
  });
});
