import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { resolveContext } from '../volume/contexts.ts';
import { isAlive } from '../../../testing/processes.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { AdhocSqlRunner } from './adhoc.ts';
import { QueryProcesses } from './processes.ts';
import { QueryError, QueryTimeoutError } from '../query/run.ts';
import { DescriptorBudgetError } from '../composite/pool.ts';

const RUNAWAY = 'WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT count(*) FROM forever';

let fixture: VolumeFixture;
let runner: AdhocSqlRunner;
let processes: QueryProcesses;
const task = (sql: string, caps: Partial<{ rowCap: number; byteCap: number; explain: boolean }> = {}) => ({ context: 'tenant/acme', sql, explain: false, rowCap: 100, byteCap: 100_000, ...caps });

beforeAll(() => {
  fixture = createVolumeFixture();
  regenerateComposite(resolveContext(fixture.volumeDir, tenantWithFindings(fixture, 'acme')));
  processes = new QueryProcesses();
  runner = new AdhocSqlRunner(fixture.volumeDir, processes);
});
afterAll(async () => {
  await processes.close();
  fixture.remove();
});

describe('ad-hoc SQL', () => {
  it('answers a SELECT over the composite from its own process', async () => {
    const answer = await runner.run(task('SELECT source, count(*) AS n FROM all_findings GROUP BY source ORDER BY source'), 10_000);
    expect(answer.result.rows).toEqual([
      { source: 'fleet', n: 1 },
      { source: 'quality', n: 2 },
    ]);
    expect(processes.lastPid).not.toBe(process.pid);
  });

  it.each([
    ["ATTACH DATABASE 'x.db' AS x", /ATTACH DATABASE statements cannot be run here/],
    ['PRAGMA writable_schema = 1', /PRAGMA statements cannot be run here/],
    ['INSERT INTO quality.findings VALUES (9, 1, 2, 3)', /INSERT statements cannot be run here/],
    ['DROP VIEW all_findings', /DROP VIEW statements cannot be run here/],
    ['SELECT 1; SELECT 2', /2 statements given/],
  ])('refuses %s with a reason', async (sql, reason) => {
    await expect(runner.run(task(sql), 10_000)).rejects.toThrow(QueryError);
    await expect(runner.run(task(sql), 10_000)).rejects.toThrow(reason);
  });

  it('kills a runaway query at its deadline; its process is gone and the next query works', async () => {
    await expect(runner.run(task(RUNAWAY), 400)).rejects.toThrow(QueryTimeoutError);
    const killed = processes.lastPid!;
    await expect.poll(() => isAlive(killed)).toBe(false);
    const next = await runner.run(task('SELECT count(*) AS n FROM all_findings'), 10_000);
    expect(next.result.rows).toEqual([{ n: 3 }]);
  });

  it('stops at the row cap and at the byte cap, and says which', async () => {
    const rows = await runner.run(task('SELECT * FROM all_findings', { rowCap: 2 }), 10_000);
    expect(rows.result).toMatchObject({ truncated: true, truncatedBy: 'rows' });
    expect(rows.result.rows).toHaveLength(2);
    const bytes = await runner.run(task("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000) SELECT n, printf('%.200c', 'x') AS padding FROM c", { byteCap: 2_000 }), 10_000);
    expect(bytes.result).toMatchObject({ truncated: true, truncatedBy: 'bytes' });
    expect(bytes.result.rows.length).toBeLessThan(10);
  });

  it('shows the query plan on request, and runs EXPLAIN itself', async () => {
    const planned = await runner.run(task('SELECT * FROM all_findings ORDER BY created_at DESC LIMIT 5', { explain: true }), 10_000);
    expect(planned.plan!.map((step) => step.detail).join('\n')).toMatch(/idx_findings_created_at/);
    const explained = await runner.run(task('EXPLAIN QUERY PLAN SELECT * FROM all_findings'), 10_000);
    expect(explained.result.columns).toContain('detail');
  });

  it('runs its statement at a lower priority than the server', async () => {
    const running = runner.run(task(RUNAWAY), 1_500).catch((error: Error) => error);
    await expect.poll(() => processes.lastPid !== undefined && isAlive(processes.lastPid) && os.getPriority(processes.lastPid)).toBe(10);
    expect(await running).toBeInstanceOf(QueryTimeoutError);
  });

  it('runs one statement at a time; one that cannot start before its deadline is answered with a timeout saying it waited', async () => {
    const oneAtATime = new AdhocSqlRunner(fixture.volumeDir, processes, 1);
    const runaway = oneAtATime.run(task(RUNAWAY), 2_000).catch((error: Error) => error);
    const queued = oneAtATime.run(task('SELECT 1 AS one'), 300).catch((error: Error) => error);
    const gaveUp = await queued;
    expect(gaveUp).toBeInstanceOf(QueryTimeoutError);
    expect((gaveUp as Error).message).toMatch(/waited 300 ms behind other ad-hoc SQL/);
    expect(await runaway).toBeInstanceOf(QueryTimeoutError);
    expect((await oneAtATime.run(task('SELECT 1 AS one'), 5_000)).result.rows).toEqual([{ one: 1 }]);
  });

  it('lets a waiting statement run once the one before it finishes', async () => {
    const oneAtATime = new AdhocSqlRunner(fixture.volumeDir, processes, 1);
    const [first, second] = await Promise.all([
      oneAtATime.run(task('SELECT count(*) AS n FROM all_findings'), 10_000),
      oneAtATime.run(task("SELECT 'second' AS which"), 10_000),
    ]);
    expect(first.result.rows).toEqual([{ n: 3 }]);
    expect(second.result.rows).toEqual([{ which: 'second' }]);
  });

  it('borrows descriptors for each process until it has ended, also when it was killed at its deadline, and runs nothing without them', async () => {
    const loans: string[] = [];
    let refuse = false;
    const lending = new QueryProcesses((context) => {
      if (refuse) throw new DescriptorBudgetError();
      loans.push(context);
      return () => loans.splice(loans.indexOf(context), 1);
    });
    const borrowing = new AdhocSqlRunner(fixture.volumeDir, lending);
    try {
      await borrowing.run(task('SELECT 1 AS one'), 10_000);
      await expect(borrowing.run(task(RUNAWAY), 300)).rejects.toThrow(QueryTimeoutError);
      await expect.poll(() => loans, { timeout: 10_000 }).toEqual([]);
      refuse = true;
      const pid = lending.lastPid;
      await expect(borrowing.run(task('SELECT 1 AS one'), 10_000)).rejects.toMatchObject({ code: 'descriptor_budget', status: 503, retryAfterSeconds: 1 });
      expect(lending.lastPid).toBe(pid);
    } finally {
      await lending.close();
      lending.killAll();
    }
  }, 30_000);
});
