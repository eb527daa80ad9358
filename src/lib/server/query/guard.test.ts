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

  it.each([
    'SELECT * FROM pragma_database_list',
    'select file from PRAGMA_DATABASE_LIST()',
    'SELECT * FROM main."pragma_database_list"',
    'WITH d AS (SELECT file FROM pragma_database_list) SELECT * FROM d',
    'SELECT 1 WHERE EXISTS (SELECT 1 FROM pragma_database_list WHERE file LIKE "/%")',
  ])('refuses %s, which would show server paths, and says where the databases are listed', (sql) => {
    expect(() => assertReadOnlyQuery(sql, { allowExplain: true })).toThrow(/pragma_database_list cannot be used here.*\/admin\/contexts/);
    expect(() => assertReadOnlyQuery(`EXPLAIN QUERY PLAN ${sql}`, { allowExplain: true })).toThrow(QueryError);
  });

  it('admits the other pragma functions, which show no paths', () => {
    expect(() => assertReadOnlyQuery("SELECT name, type FROM pragma_table_info('findings')")).not.toThrow();
  });

  it('admits EXPLAIN of a SELECT only when asked to', () => {
    expect(() => assertReadOnlyQuery('EXPLAIN QUERY PLAN SELECT 1', { allowExplain: true })).not.toThrow();
    expect(() => assertReadOnlyQuery('EXPLAIN DELETE FROM t', { allowExplain: true })).toThrow(QueryError);
  });
});
