import { describe, expect, it } from 'vitest';
import { parseCompositeSql } from './parse.ts';
import { MAX_COMPOSITE_SQL_BYTES, MAX_COMPOSITE_STATEMENTS, type CompositePlan, type CompositeProblem } from './plan.ts';

function plan(text: string): CompositePlan {
  const result = parseCompositeSql(text, 'composite.sql');
  if (!result.ok) throw new Error(`expected a plan, got ${JSON.stringify(result.problems)}`);
  return result.plan;
}

function problems(text: string): CompositeProblem[] {
  const result = parseCompositeSql(text, 'tenant/acme/composite.sql');
  if (result.ok) throw new Error('expected problems, got a plan');
  return result.problems;
}

describe('composite.sql: accepted statements', () => {
  it('reads ATTACH with and without DATABASE, keeping the path as written', () => {
    expect(plan(`ATTACH DATABASE 'quality.sqlite.db' AS quality;\nATTACH 'sub dir/fleet.sqlite.db' AS "fleet";`).attachments).toEqual([
      { name: 'quality', path: 'quality.sqlite.db', location: { file: 'composite.sql', line: 1, column: 1 } },
      { name: 'fleet', path: 'sub dir/fleet.sqlite.db', location: { file: 'composite.sql', line: 2, column: 1 } },
    ]);
  });

  it('splits connection pragmas from journal_mode and synchronous expectations, signed values included', () => {
    const result = plan(`ATTACH 'a.sqlite.db' AS a;\nPRAGMA busy_timeout = 5000;\nPRAGMA cache_size = -8000;\nPRAGMA temp_store = memory;\nPRAGMA journal_mode = WAL;\nPRAGMA a.synchronous = normal;`);
    expect(result.connectionPragmas.map(({ name, value }) => [name, value])).toEqual([
      ['busy_timeout', 5000],
      ['cache_size', -8000],
      ['temp_store', 'memory'],
    ]);
    expect(result.expectations.map(({ name, value, schema }) => [name, value, schema])).toEqual([
      ['journal_mode', 'wal', null],
      ['synchronous', 'normal', 'a'],
    ]);
  });

  it('keeps the exact SELECT of a view, with strings and comments holding semicolons', () => {
    const text = `ATTACH 'q.sqlite.db' AS q; -- ; not a boundary\nCREATE TEMP VIEW IF NOT EXISTS all_findings AS\n  SELECT 'a;b' AS "x;y", id FROM q.findings /* ; */ UNION ALL SELECT 'c', 1;\nCREATE VIEW recent AS WITH r AS (SELECT * FROM q.findings) SELECT * FROM r;`;
    const views = plan(text).views;
    expect(views.map((v) => [v.name, v.location.line])).toEqual([
      ['all_findings', 2],
      ['recent', 4],
    ]);
    expect(views[0].selectSql).toBe(`SELECT 'a;b' AS "x;y", id FROM q.findings /* ; */ UNION ALL SELECT 'c', 1`);
    expect(views[1].selectSql).toBe('WITH r AS (SELECT * FROM q.findings) SELECT * FROM r');
  });

  it('records CREATE INDEX on an attachment as an expected index', () => {
    expect(plan(`ATTACH 'q.sqlite.db' AS q;\nCREATE UNIQUE INDEX q.idx_findings ON findings(created_at, id);`).expectedIndexes).toEqual([
      { name: 'idx_findings', schema: 'q', table: 'findings', columns: ['created_at', 'id'], unique: true, location: { file: 'composite.sql', line: 2, column: 1 } },
    ]);
  });

  it('accepts a file of comments only as an empty composite', () => {
    expect(plan('-- nothing attached yet\n')).toEqual({ attachments: [], connectionPragmas: [], expectations: [], views: [], expectedIndexes: [], searchIndexes: [] });
  });
});

describe('composite.sql: refusals with line and column', () => {
  it.each([
    ['INSERT INTO t VALUES (1);', /INSERT is not allowed.*write to the owning database/],
    ['DETACH DATABASE q;', /DETACH is not allowed/],
    ['VACUUM;', /VACUUM is not allowed/],
    ['CREATE TABLE t (x);', /CREATE TABLE is not allowed/],
    ['CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;', /CREATE TRIGGER is not allowed/],
    ["SELECT load_extension('evil');", /bare SELECT is not allowed/],
    ['DROP TABLE t;', /DROP TABLE is not allowed/],
    ['PRAGMA writable_schema = 1;', /PRAGMA writable_schema is not allowed.*busy_timeout/],
    ['PRAGMA busy_timeout;', /PRAGMA needs a value/],
    ['PRAGMA busy_timeout = 999999;', /busy_timeout takes milliseconds/],
    ['PRAGMA journal_mode = sideways;', /journal_mode takes one of/],
    ["ATTACH 'a' || 'b' AS q;", /plain string literal/],
    ["ATTACH 'file:q.sqlite.db?mode=ro' AS q;", /is a URI/],
    ["ATTACH '/srv/q.sqlite.db' AS q;", /is absolute/],
    ["ATTACH 'q.sqlite.db' AS main;", /"main" is reserved/],
    ['CREATE VIEW q.v AS SELECT 1;', /without a schema/],
    ['CREATE INDEX idx ON findings(created_at);', /qualify the index/],
    ['CREATE VIEW v (a) AS SELECT 1;', /AS aliases/],
  ])('%s', (statement, message) => {
    const found = problems(`-- line one\n   ${statement}`);
    expect(found).toHaveLength(1);
    expect(found[0].file).toBe('tenant/acme/composite.sql');
    expect(found[0].line).toBe(2);
    expect(found[0].column).toBeGreaterThanOrEqual(4);
    expect(found[0].message).toMatch(message);
  });

  it('reports every problem, in order, not only the first', () => {
    const found = problems(`ATTACH 'q.sqlite.db' AS q;\nDELETE FROM q.t;\nATTACH 'r.sqlite.db' AS Q;\nPRAGMA writable_schema = 1;`);
    expect(found.map((p) => [p.line, p.column])).toEqual([
      [2, 1],
      [3, 25],
      [4, 1],
    ]);
    expect(found[1].message).toMatch(/"Q" is attached twice/);
  });

  it('refuses an eleventh attachment, naming the per-connection limit', () => {
    const attaches = Array.from({ length: 11 }, (_, i) => `ATTACH 'd${i}.sqlite.db' AS d${i};`).join('\n');
    const found = problems(attaches);
    expect(found).toEqual([expect.objectContaining({ line: 11, column: 1 })]);
    expect(found[0].message).toMatch(/at most 10 databases per connection/);
  });

  it('refuses pragmas and indexes naming a schema that is not attached', () => {
    const found = problems(`PRAGMA ghost.journal_mode = wal;\nCREATE INDEX ghost.i ON t(a);`);
    expect(found.map((p) => p.line)).toEqual([1, 2]);
    expect(found[0].message).toMatch(/"ghost", which is not attached/);
  });

  it('reports a syntax error where the parser stopped', () => {
    const found = problems(`ATTACH 'q.sqlite.db' AS q;\nCREATE VEIW v AS SELECT 1;`);
    expect(found[0]).toMatchObject({ line: 2, column: 8 });
    expect(found[0].message).toMatch(/syntax error/);
  });

  it('does not take a sign outside a pragma value', () => {
    expect(problems(`CREATE VIEW v AS SELECT 1 FROM t WHERE x = - - ;`)[0].message).toMatch(/syntax error/);
  });
});

describe('composite.sql: descriptions', () => {
  const DESCRIBED = `ATTACH 'q.sqlite.db' AS q;

-- A plain comment is not a description.
-- @description Every finding of the tenant,
--   whichever database holds it.
-- @column source: the database the finding came from
-- @column "created at": when it was raised, UTC
CREATE VIEW all_findings AS SELECT 'q' AS source, created_at AS "created at" FROM q.findings;

-- @description Separated by a blank line from the next view, so not its description.

CREATE VIEW bare AS SELECT 1 AS one;
`;

  it('reads -- @description and -- @column right above CREATE VIEW, with their lines', () => {
    const [described, bare] = plan(DESCRIBED).views;
    expect(described.description).toEqual({ text: 'Every finding of the tenant, whichever database holds it.', line: 4 });
    expect(described.columnDescriptions).toEqual({
      source: { text: 'the database the finding came from', line: 6 },
      'created at': { text: 'when it was raised, UTC', line: 7 },
    });
    expect(bare.description).toBeNull();
    expect(bare.columnDescriptions).toEqual({});
  });

  it('refuses an unknown tag and a column description without a colon, at their lines', () => {
    expect(problems(`-- @descripton typo\n-- @column source\nCREATE VIEW v AS SELECT 1 AS source;`)).toEqual([
      { file: 'tenant/acme/composite.sql', line: 1, column: 1, message: '-- @descripton is not a description tag; use -- @description … or -- @column name: …' },
      { file: 'tenant/acme/composite.sql', line: 2, column: 1, message: 'write a column description as -- @column name: what it means' },
    ]);
  });
});

describe('composite.sql: declared full-text indexes', () => {
  it('reads -- @fts schema.table: index wherever it stands, and refuses a malformed or unattached one at its line', () => {
    expect(plan(`ATTACH 'q.sqlite.db' AS q;\n\n-- @fts q.findings: findings_search\n`).searchIndexes).toEqual([
      { schema: 'q', table: 'findings', fts: 'findings_search', location: { file: 'composite.sql', line: 3, column: 1 } },
    ]);
    expect(problems(`ATTACH 'q.sqlite.db' AS q;\n-- @fts findings_search\n-- @fts other.findings: findings_fts\n`).map((p) => [p.line, p.message])).toEqual([
      [2, "declare a full-text index as -- @fts schema.table: index_table (an FTS5 table with content='table' in that database)"],
      [3, '-- @fts other.findings names "other", which is not attached; attach it or use an attachment\'s name'],
    ]);
  });
});

describe('composite.sql: bounded size', () => {
  it('refuses a 10 MB composite.sql at the line where it passes the byte limit, without parsing it', () => {
    const view = (i: number) => `CREATE VIEW v${i} AS SELECT ${i} AS n; -- padding padding padding padding padding\n`;
    const text = Array.from({ length: 120_000 }, (_, i) => view(i)).join('');
    expect(text.length).toBeGreaterThan(10_000_000);
    const [problem, ...others] = problems(text);
    expect(others).toEqual([]);
    const lineOfLimit = text.slice(0, MAX_COMPOSITE_SQL_BYTES).split('\n').length;
    expect(problem).toMatchObject({ file: 'tenant/acme/composite.sql', line: lineOfLimit });
    expect(problem.message).toMatch(/is 1\d,\d{3},\d{3} bytes, more than the 524,288 a composite may have/);
  });

  it('refuses more statements than a composite may have, at the first one beyond the limit, counting only real semicolons', () => {
    const statement = (i: number) => `CREATE VIEW v${i} AS SELECT ';' AS "a;b" /* ; */; -- ;\n`;
    const text = Array.from({ length: MAX_COMPOSITE_STATEMENTS + 5 }, (_, i) => statement(i)).join('');
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_COMPOSITE_SQL_BYTES);
    expect(problems(text)).toEqual([expect.objectContaining({ line: MAX_COMPOSITE_STATEMENTS + 1, message: expect.stringMatching(/more than 2,000 statements/) })]);
    const allowed = Array.from({ length: 50 }, (_, i) => statement(i)).join('');
    expect(plan(allowed).views).toHaveLength(50);
  });
});
