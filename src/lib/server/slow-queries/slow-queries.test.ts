import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { recordSlowQuery, slowestSince } from '../store/slow-queries.ts';
import { adviseOnPlan, ReadTimer, redactLiterals, slowestWithPlans } from './slow-queries.ts';
import { explainQueryPlan, QueryTimeoutError, type PlanStep } from '../query/run.ts';
import { DatabaseBusyError, DatabaseUnreadableError } from '../composite/connect.ts';

let stateDir: string;
let store: ConsoleStore;

beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-slow-'));
  store = openConsoleStore(stateDir);
});

afterEach(() => {
  store.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('redacting literals', () => {
  it('replaces strings, numbers and blobs, and keeps identifiers, even quoted ones with quotes inside', () => {
    expect(redactLiterals(`SELECT "it's", title FROM findings WHERE owner = 'O''Brien' AND score > 4.5 AND key = X'ABCD' LIMIT 10`)).toBe(
      `SELECT "it's", title FROM findings WHERE owner = ? AND score > ? AND key = ? LIMIT ?`,
    );
    expect(redactLiterals('SELECT * FROM t WHERE a = ? AND b = :name')).toBe('SELECT * FROM t WHERE a = ? AND b = :name');
  });

  it('keeps nothing of a statement it cannot parse', () => {
    expect(redactLiterals("SELEKT secret FROM 'x")).not.toContain('secret');
  });
});

describe('timing reads', () => {
  it('keeps reads over the threshold with context, kind, rows and user, and leaves faster ones out', async () => {
    const timer = new ReadTimer(() => store, 20);
    await timer.time({ kind: 'page', context: 'tenant/acme', sql: 'SELECT 1', actor: 'alice' }, () => 'fast', () => 1);
    await timer.time({ kind: 'count', context: 'tenant/acme', sql: "SELECT count(*) FROM t WHERE name = 'bob'", actor: 'alice' }, () => new Promise((resolve) => setTimeout(() => resolve([1, 2, 3]), 40)), (rows) => (rows as number[]).length);
    const kept = slowestSince(store, new Date(0), 10);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ context: 'tenant/acme', kind: 'count', sql: 'SELECT count(*) FROM t WHERE name = ?', rows: 3, actor: 'alice' });
    expect(kept[0]!.durationMs).toBeGreaterThan(20);
  });

  it('keeps a read stopped at its deadline too', async () => {
    const timer = new ReadTimer(() => store, 1);
    const late = timer.time({ kind: 'adhoc', context: 'admin', sql: 'SELECT 1', actor: null }, () => new Promise((_, reject) => setTimeout(() => reject(new QueryTimeoutError('late')), 5)));
    await expect(late).rejects.toThrow(QueryTimeoutError);
    expect(slowestSince(store, new Date(0), 10)).toMatchObject([{ kind: 'adhoc', rows: null }]);
  });
});

describe('plans and index advice', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE findings (id INTEGER PRIMARY KEY, severity TEXT, title TEXT, created_at TEXT); CREATE INDEX idx_created ON findings(created_at);');
  const advise = (sql: string) => adviseOnPlan(explainQueryPlan(db, sql), sql);

  it('suggests an index for a full scan under a filter and for a sort done in a temp B-tree', () => {
    const advice = advise('SELECT * FROM findings WHERE ("severity" = ?) ORDER BY "title" ASC LIMIT ?');
    expect(advice.plan.map((step) => step.detail)).toEqual(['SCAN findings', 'USE TEMP B-TREE FOR ORDER BY']);
    expect(advice.suggestions).toHaveLength(2);
    expect(advice.suggestions[0]).toContain('CREATE INDEX idx_findings_severity ON findings(severity)');
    expect(advice.suggestions[1]).toContain('an index on severity, title');
  });

  it('suggests nothing when an index serves the sort', () => {
    const advice = advise('SELECT * FROM findings ORDER BY created_at DESC LIMIT ?');
    expect(advice.plan[0]!.detail).toMatch(/SCAN findings USING INDEX idx_created/);
    expect(advice.suggestions).toEqual([]);
  });

  it('says in words why a plan cannot be shown, with no server path and no driver text beyond what the other pages show', async () => {
    const sql = 'SELECT * FROM findings ORDER BY created_at DESC LIMIT ?';
    for (const context of ['tenant/gone', 'tenant/busy', 'tenant/damaged', 'tenant/broken', 'tenant/fine']) recordSlowQuery(store, { context, kind: 'page', durationMs: 900, sql, rows: 1, actor: null });
    recordSlowQuery(store, { context: 'tenant/fine', kind: 'page', durationMs: 800, sql: 'SELECT * FROM gone', rows: 1, actor: null });
    recordSlowQuery(store, { context: 'tenant/fine', kind: 'page', durationMs: 700, sql, rows: 1, actor: null });
    const asked: string[] = [];
    const planOf = async (context: string, statement: string): Promise<PlanStep[]> => {
      asked.push(`${context} ${statement}`);
      if (context === 'tenant/busy') throw new DatabaseBusyError();
      if (context === 'tenant/damaged') throw new DatabaseUnreadableError('file is not a database');
      if (context === 'tenant/broken') throw Object.assign(new Error('unable to open database file /srv/volume/embedded/tenant/broken/x.db'), { code: 'SQLITE_MISUSE' });
      if (context === 'tenant/gone') throw new QueryTimeoutError('The query on tenant/gone did not finish within 1000 ms; narrow it with filters and try again.');
      return explainQueryPlan(db, statement);
    };
    const problems = Object.fromEntries((await slowestWithPlans(store, planOf)).map((entry) => [`${entry.context} ${entry.sql}`, entry.advice.problem]));
    expect(problems[`tenant/fine ${sql}`]).toBeNull();
    expect(problems['tenant/fine SELECT * FROM gone']).toBe('The statement no longer compiles here: no such table: gone');
    expect(problems[`tenant/busy ${sql}`]).toMatch(/^No plan now: A database this reads is locked by a writer/);
    expect(problems[`tenant/damaged ${sql}`]).toMatch(/^No plan now: A database this composite attaches cannot be read \(file is not a database\)/);
    expect(problems[`tenant/gone ${sql}`]).toMatch(/^No plan now: The query on tenant\/gone did not finish within 1000 ms/);
    expect(problems[`tenant/broken ${sql}`]).toBe('No plan now: reading it failed on the server; it has been logged.');
    // The statement slow twice on tenant/fine is explained once.
    expect(asked.filter((key) => key === `tenant/fine ${sql}`)).toHaveLength(1);
  });
});
