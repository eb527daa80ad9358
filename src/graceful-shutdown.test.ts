import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import { connectionsTo, descendantsOf, isAlive, runningOf } from './testing/processes.ts';

/**
 * SIGTERM (a deploy, a container stop) while requests are being answered: the server stops
 * accepting, lets every request in flight finish, stops its query processes and exits 0.
 */
let server: RunningConsole;
let operator: string;
/** A fraction of a second of work for SQLite each, so the requests are still running when the signal comes. */
const SLOW_SQL = 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 600000) SELECT count(*) AS n FROM c';

beforeAll(async () => {
  server = await startConsoleServer({ TRUTH_YARD_SQL_PROCESSES: '4', TRUTH_YARD_SQL_TIMEOUT_MS: '60000', TRUTH_YARD_SHUTDOWN_MS: '60000' });
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
}, 60_000);
afterAll(() => server?.stop());

describe('SIGTERM with requests in flight', () => {
  it('answers every one of them, then stops its query processes and exits 0', async () => {
    const sql = () =>
      fetch(`${server.baseUrl}/api/tenants/acme/sql`, {
        method: 'POST',
        headers: { cookie: operator, origin: server.baseUrl, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: SLOW_SQL }),
      }).then(
        async (response) => ({ status: response.status, body: await response.json() }),
        (error: Error) => ({ status: 0, body: error.message }),
      );
    const port = Number(new URL(server.baseUrl).port);
    const answers = Promise.all(Array.from({ length: 6 }, sql));
    // Every request has reached the server (its connection accepted) and the first statement runs.
    await expect.poll(() => connectionsTo(port).established, { timeout: 15_000 }).toBeGreaterThanOrEqual(6);
    await expect.poll(() => connectionsTo(port).notAccepted, { timeout: 15_000 }).toBe(0);
    await expect.poll(() => runningOf(descendantsOf(server.pid)).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    const children = descendantsOf(server.pid);
    process.kill(server.pid, 'SIGTERM');

    const settled = await answers;
    expect(settled.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(settled[0].body).toMatchObject({ ok: true, rows: [{ n: 600000 }] });
    expect(await server.exited).toBe(0);
    await expect.poll(() => children.filter(isAlive), { timeout: 10_000 }).toEqual([]);
    // It no longer accepts connections.
    await expect(fetch(`${server.baseUrl}/login`)).rejects.toThrow();
  }, 60_000);
});
