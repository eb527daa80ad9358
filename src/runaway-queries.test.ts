import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import { cpuSecondsOf, cpuShare, descendantsOf, isAlive } from './testing/processes.ts';
import { resolveContext } from './lib/server/volume/contexts.ts';
import { regenerateComposite } from './lib/server/composite/regenerate.ts';

/**
 * A view over an endless recursive CTE: SQLite here has no interrupt, so the only way to stop
 * a read of it is to kill the process running it. Nothing may keep spinning after the answer,
 * and nothing the server started may outlive it, kill -9 included.
 */
const ENDLESS_VIEW = `
CREATE VIEW endless AS
  WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers) SELECT n FROM numbers;
-- Its plan walks the created_at index (no TEMP B-TREE), yet its subquery never ends.
CREATE VIEW endless_walk AS
  SELECT created_at, title FROM qualityfolio.findings
  WHERE (WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers) SELECT count(*) FROM numbers) > 0;
`;
const ENDLESS_SQL = 'WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT count(*) FROM forever';

async function serverWithEndlessView(env: Record<string, string>): Promise<{ server: RunningConsole; operator: string }> {
  const server = await startConsoleServer(env);
  const acme = resolveContext(server.volumeDir, 'tenant/acme');
  fs.appendFileSync(path.join(acme.dir, 'composite.sql'), ENDLESS_VIEW);
  expect(regenerateComposite(acme).ok).toBe(true);
  return { server, operator: await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password') };
}

describe('a runaway view', () => {
  let server: RunningConsole;
  let operator: string;
  beforeAll(async () => ({ server, operator } = await serverWithEndlessView({ TRUTH_YARD_QUERY_TIMEOUT_MS: '300' })), 60_000);
  afterAll(() => server?.stop());

  it('answers 504 each time and leaves nothing spinning afterwards', async () => {
    const get = (pathname: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie: operator } });
    const answers = await Promise.all([1, 2, 3].map(() => get('/api/tenants/acme/objects/endless/rows?_size=5')));
    for (const answer of answers) {
      expect(answer.status).toBe(504);
      expect((await answer.json()).error.code).toBe('query_timeout');
    }
    // Other tenants are served again as soon as the killed processes are replaced.
    await expect.poll(async () => (await get('/api/tenants/globex/objects/all_findings/rows?severity=high')).status, { timeout: 15_000 }).toBe(200);
    // Replacements of killed read processes take a moment to load; after that the server and
    // everything it started are idle (before: threads kept running the statements at 100 %).
    await expect.poll(() => cpuShare(server.pid), { timeout: 15_000, interval: 200 }).toBeLessThan(0.3);
  }, 30_000);

  it('answers 504 for a view read in index order whose subquery never ends, and keeps serving the others', async () => {
    const get = (pathname: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie: operator } });
    // Read where the deadline can stop it (before: on the server's thread, which it froze for good).
    const answer = await get('/api/tenants/acme/objects/endless_walk/rows?_size=5');
    expect(answer.status).toBe(504);
    expect((await answer.json()).error.code).toBe('query_timeout');
    await expect.poll(async () => (await get('/api/tenants/globex/objects/all_findings/rows?severity=high')).status, { timeout: 15_000 }).toBe(200);
  }, 30_000);
});

describe('the server killed with SIGKILL', () => {
  it('takes every query process with it, even ones busy in a statement', async () => {
    const { server, operator } = await serverWithEndlessView({ TRUTH_YARD_QUERY_TIMEOUT_MS: '60000', TRUTH_YARD_SQL_TIMEOUT_MS: '60000' });
    try {
      const send = (pathname: string, init: RequestInit = {}) => fetch(`${server.baseUrl}${pathname}`, { ...init, headers: { cookie: operator, origin: server.baseUrl, ...init.headers } }).catch(() => null);
      void send('/api/tenants/acme/objects/endless/rows?_size=5');
      void send('/api/tenants/acme/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: ENDLESS_SQL }) });
      // Both statements running, each in a process of the server: two of them have spent
      // more CPU than loading a process takes.
      await expect.poll(() => descendantsOf(server.pid).filter((pid) => cpuSecondsOf(pid) > 1).length, { timeout: 45_000 }).toBeGreaterThanOrEqual(2);
      const started = descendantsOf(server.pid);
      process.kill(server.pid, 'SIGKILL');
      await expect.poll(() => started.filter(isAlive), { timeout: 10_000 }).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
