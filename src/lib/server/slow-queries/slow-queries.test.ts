import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { slowestSince } from '../store/slow-queries.ts';
import { adviseOnPlan, ReadTimer, redactLiterals } from './slow-queries.ts';
import { QueryTimeoutError } from '../query/run.ts';

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

  it('suggests an index for a full scan under a filter and for a sort done in a temp B-tree', () => {
    const advice = adviseOnPlan(db, 'SELECT * FROM findings WHERE ("severity" = ?) ORDER BY "title" ASC LIMIT ?');
    expect(advice.plan.map((step) => step.detail)).toEqual(['SCAN findings', 'USE TEMP B-TREE FOR ORDER BY']);
    expect(advice.suggestions).toHaveLength(2);
    expect(advice.suggestions[0]).toContain('CREATE INDEX idx_findings_severity ON findings(severity)');
    expect(advice.suggestions[1]).toContain('an index on severity, title');
  });

  it('suggests nothing when an index serves the sort', () => {
    const advice = adviseOnPlan(db, 'SELECT * FROM findings ORDER BY created_at DESC LIMIT ?');
    expect(advice.plan[0]!.detail).toMatch(/SCAN findings USING INDEX idx_created/);
    expect(advice.suggestions).toEqual([]);
  });

  it('says so when the statement no longer compiles', () => {
    expect(adviseOnPlan(db, 'SELECT * FROM gone').problem).toMatch(/no longer compiles.*no such table: gone/);
  });
});
