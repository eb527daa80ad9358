import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from './database.ts';
import { healthHistory, latestHealthRuns, latestProblemRuns, recordHealthRun } from './health-runs.ts';

let tempDir: string;
let db: ConsoleStore;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-health-runs-'));
  db = openConsoleStore(tempDir);
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

interface SampleReport {
  findings: Array<{ severity: string; message: string }>;
}

const brokenReport: SampleReport = { findings: [{ severity: 'error', message: 'fleetfolio.sqlite.db: not a SQLite database (bad header)' }] };

describe('health runs', () => {
  it('keep the report exactly as it was recorded', () => {
    recordHealthRun(db, { context: 'tenant/acme', status: 'broken', worstSeverity: 'error', full: true, report: brokenReport, at: new Date('2025-04-01T08:00:00Z') });
    const [run] = healthHistory<SampleReport>(db, 'tenant/acme', 10);
    expect(run).toMatchObject({ context: 'tenant/acme', status: 'broken', worstSeverity: 'error', full: true, at: '2025-04-01T08:00:00.000Z' });
    expect(run!.report).toEqual(brokenReport);
  });

  it('give the latest run of every context', () => {
    recordHealthRun(db, { context: 'admin', status: 'fresh', worstSeverity: 'ok', full: false, report: { findings: [] }, at: new Date('2025-04-01T08:00:00Z') });
    recordHealthRun(db, { context: 'admin', status: 'stale', worstSeverity: 'warn', full: false, report: { findings: [] }, at: new Date('2025-04-02T08:00:00Z') });
    recordHealthRun(db, { context: 'cross-tenant', status: 'fresh', worstSeverity: 'ok', full: false, report: { findings: [] }, at: new Date('2025-04-01T09:00:00Z') });
    const latest = latestHealthRuns(db);
    expect(latest.size).toBe(2);
    expect(latest.get('admin')).toMatchObject({ status: 'stale', worstSeverity: 'warn' });
    expect(latest.get('tenant/acme')).toBeUndefined();
  });

  it('give the latest run of every context as recorded since, here or by another process', () => {
    const run = (status: 'fresh' | 'stale', day: string) => ({ context: 'admin', status, worstSeverity: status === 'fresh' ? ('ok' as const) : ('warn' as const), full: false, report: { findings: [] }, at: new Date(`2025-04-${day}T08:00:00Z`) });
    recordHealthRun(db, run('fresh', '01'));
    expect(latestHealthRuns(db).get('admin')).toMatchObject({ status: 'fresh' });
    recordHealthRun(db, run('stale', '02'));
    expect(latestHealthRuns(db).get('admin')).toMatchObject({ status: 'stale' });
    // A `yard health` run commits through a connection of its own.
    const cli = openConsoleStore(tempDir);
    try {
      recordHealthRun(cli, run('fresh', '03'));
    } finally {
      cli.close();
    }
    expect(latestHealthRuns(db).get('admin')).toMatchObject({ status: 'fresh', at: '2025-04-03T08:00:00.000Z' });
  });

  it('give the latest run of each context that found a problem, newest first, and stop where the caller stops', () => {
    const run = (context: string, worstSeverity: 'ok' | 'warn' | 'error', at: string) =>
      recordHealthRun(db, { context, status: 'fresh', worstSeverity, full: false, report: { findings: [{ severity: worstSeverity, message: context }] }, at: new Date(at) });
    run('admin', 'error', '2025-04-01T08:00:00Z');
    run('admin', 'ok', '2025-04-02T08:00:00Z');
    run('tenant/b', 'warn', '2025-04-03T08:00:00Z');
    run('tenant/a', 'error', '2025-04-03T08:00:00Z');
    run('cross-tenant', 'warn', '2025-04-01T08:00:00Z');
    run('tenant/c', 'error', '2025-04-02T08:00:00Z');
    run('tenant/c', 'warn', '2025-04-04T08:00:00Z');
    expect([...latestProblemRuns(db)].map((r) => [r.context, r.worstSeverity, r.at.slice(0, 10)])).toEqual([
      ['tenant/c', 'warn', '2025-04-04'],
      ['tenant/a', 'error', '2025-04-03'],
      ['tenant/b', 'warn', '2025-04-03'],
      ['cross-tenant', 'warn', '2025-04-01'],
    ]);
    for (const first of latestProblemRuns<SampleReport>(db)) {
      expect(first.report.findings[0]!.message).toBe('tenant/c');
      break;
    }
    // Broken off, the statement is free for the next caller.
    expect([...latestProblemRuns(db)]).toHaveLength(4);
  });

  it('give the problem runs as recorded since, here or by another process', () => {
    const run = (store: ConsoleStore, worstSeverity: 'ok' | 'warn', day: string) =>
      recordHealthRun(store, { context: 'admin', status: 'fresh', worstSeverity, full: false, report: { findings: [] }, at: new Date(`2025-04-${day}T08:00:00Z`) });
    run(db, 'warn', '01');
    expect([...latestProblemRuns(db)].map((r) => r.at.slice(0, 10))).toEqual(['2025-04-01']);
    run(db, 'ok', '02');
    expect([...latestProblemRuns(db)]).toEqual([]);
    // A `yard health` run commits through a connection of its own.
    const cli = openConsoleStore(tempDir);
    try {
      run(cli, 'warn', '03');
    } finally {
      cli.close();
    }
    expect([...latestProblemRuns(db)].map((r) => r.at.slice(0, 10))).toEqual(['2025-04-03']);
  });

  it('list a context history newest first, up to the limit', () => {
    for (const day of ['01', '02', '03']) {
      recordHealthRun(db, { context: 'admin', status: 'fresh', worstSeverity: 'ok', full: false, report: {}, at: new Date(`2025-04-${day}T08:00:00Z`) });
    }
    expect(healthHistory(db, 'admin', 2).map((run) => run.at.slice(0, 10))).toEqual(['2025-04-03', '2025-04-02']);
  });

  it('refuse a severity outside ok, warn and error', () => {
    expect(() =>
      recordHealthRun(db, { context: 'admin', status: 'fresh', worstSeverity: 'fatal' as 'error', full: false, report: {} }),
    ).toThrow(/CHECK/);
  });
});
