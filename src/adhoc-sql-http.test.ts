import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

let server: RunningConsole;
let operator: string;
let acmeUser: string;

beforeAll(async () => {
  server = await startConsoleServer({ TRUTH_YARD_SQL_TIMEOUT_MS: '1500', TRUTH_YARD_SQL_BYTE_CAP: '20000', TRUTH_YARD_ROW_CAP: '500' });
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
  acmeUser = await signInForCookie(server.baseUrl, 'acme-user', 'acme-demo-password');
}, 60_000);
afterAll(() => server?.stop());

function sql(cookie: string, body: unknown, path = '/api/tenants/acme/sql') {
  return fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { cookie, origin: server.baseUrl, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Child processes of the server process that are busy on a CPU (R state), from ps. */
function busyChildren(pid: number): string[] {
  const lines = execFileSync('ps', ['-o', 'pid=,stat=', '--ppid', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  return lines.filter((line) => line.trim().split(/\s+/)[1].startsWith('R'));
}

describe('ad-hoc SQL over HTTP', () => {
  it('answers a SELECT with rows, capped, and the plan on request', async () => {
    const response = await sql(operator, { sql: 'SELECT severity, count(*) AS n FROM all_findings GROUP BY severity ORDER BY severity', explain: true });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.ok).toBe(true);
    expect(body.columns).toEqual(['severity', 'n']);
    expect(body.rows.length).toBeGreaterThan(2);
    expect(Array.isArray(body.plan)).toBe(true);
    const capped = await (await sql(operator, { sql: 'SELECT * FROM all_findings' })).json();
    expect(capped).toMatchObject({ ok: true, truncated: true, truncatedBy: 'bytes' });
  });

  it('refuses writes and several statements with 400 and a reason', async () => {
    for (const statement of ['DELETE FROM qualityfolio.findings', "ATTACH 'x' AS x", 'PRAGMA query_only = 0', 'SELECT 1; SELECT 2']) {
      const response = await sql(operator, { sql: statement });
      expect(response.status, statement).toBe(400);
      expect((await response.json()).error.code).toBe('query_error');
    }
  });

  it('kills a runaway query at its deadline with 504, and the server answers the next request', async () => {
    const response = await sql(operator, { sql: 'WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT count(*) FROM forever' });
    expect(response.status).toBe(504);
    expect((await response.json()).error.code).toBe('query_timeout');
    const me = await fetch(`${server.baseUrl}/api/me`, { headers: { cookie: operator } });
    expect(me.status).toBe(200);
    // The killed process's replacement loads meanwhile, which on a busy machine takes seconds.
    await expect.poll(() => busyChildren(server.pid), { timeout: 15_000 }).toEqual([]);
    expect((await sql(operator, { sql: 'SELECT 1 AS one' })).status).toBe(200);
  });

  it('is not there for tenant users, even on their own tenant', async () => {
    expect((await sql(acmeUser, { sql: 'SELECT 1' })).status).toBe(404);
    expect((await fetch(`${server.baseUrl}/tenants/acme/sql`, { headers: { cookie: acmeUser } })).status).toBe(404);
  });
});
