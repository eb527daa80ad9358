import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

/*
 * The fleet analytics through the built server: a refresh started from the web runs in a
 * child process and is recorded and audited; analytics SQL past its deadline is
 * interrupted (504) while the server keeps answering; an admin downloads a table as
 * Parquet; a tenant whose schema drifted says so in its health.
 */

let server: RunningConsole;
let admin: string;
let operator: string;

interface Json {
  ok: boolean;
  error?: { code: string; message: string };
  [key: string]: unknown;
}

async function call(method: 'GET' | 'POST', pathname: string, cookie: string, json?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${server.baseUrl}${pathname}`, {
    method,
    headers: { cookie, origin: server.baseUrl, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

interface AnalyticsAnswer {
  overview: { tenants: number; rows: number; tables: Array<{ name: string }> } | null;
  refresh: { running: boolean; last: { outcome: string } | null };
  history: Array<{ actor: string; outcome: string; tenantsRead: number }>;
}

async function refreshAndWait(body: unknown = {}): Promise<AnalyticsAnswer> {
  const started = await call('POST', '/api/analytics/refresh', admin, body);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  for (;;) {
    const answer = (await call('GET', '/api/analytics', admin)).body as unknown as AnalyticsAnswer;
    if (!answer.refresh.running) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  server = await startConsoleServer({ TRUTH_YARD_ANALYTICS_SQL_TIMEOUT_MS: '500' });
  admin = await signInForCookie(server.baseUrl, 'admin', 'admin-demo-password');
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe('fleet analytics over HTTP', () => {
  it('has nothing before the first refresh, then every tenant after a refresh started from the web, recorded and audited', async () => {
    const before = (await call('GET', '/api/analytics', operator)).body as unknown as AnalyticsAnswer;
    expect(before.overview).toBeNull();
    expect((await call('POST', '/api/analytics/sql', operator, { sql: 'SELECT 1' })).body.error?.code).toBe('analytics_missing');

    const after = await refreshAndWait();
    expect(after.refresh.last?.outcome).toBe('ok');
    expect(after.overview?.tenants).toBe(3);
    expect(after.overview?.tables.map((t) => t.name)).toEqual(expect.arrayContaining(['all_findings', 'findings_by_month', 'tenant_findings']));
    expect(after.history[0]).toMatchObject({ actor: 'admin', outcome: 'ok', tenantsRead: 3 });
    const audit = (await call('GET', '/api/admin/audit', admin)).body as unknown as { events: Array<{ action: string; actor: string; outcome: string }> };
    expect(audit.events.find((e) => e.action === 'analytics.refresh')).toMatchObject({ actor: 'admin', outcome: 'ok' });

    const sql = await call('POST', '/api/analytics/sql', operator, { sql: 'SELECT tenant, count(*) AS n FROM all_findings GROUP BY tenant ORDER BY tenant' });
    expect(sql.status).toBe(200);
    expect((sql.body.rows as Array<{ tenant: string }>).map((row) => row.tenant)).toEqual(['acme', 'globex', 'initech']);
  });

  it('refuses a second refresh while one runs', async () => {
    const first = await call('POST', '/api/analytics/refresh', admin, { full: true });
    expect(first.status).toBe(202);
    const second = await call('POST', '/api/analytics/refresh', admin, {});
    expect(second.status).toBe(409);
    expect(second.body.error?.code).toBe('analytics_busy');
    while (((await call('GET', '/api/analytics', admin)).body as unknown as AnalyticsAnswer).refresh.running) await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it('interrupts a runaway statement with 504 while the server keeps answering', async () => {
    let runawayDone = false;
    const runaway = call('POST', '/api/analytics/sql', operator, { sql: 'SELECT count(*) FROM range(1000000000000) a, range(10) b' }).finally(() => (runawayDone = true));
    const me = await fetch(`${server.baseUrl}/api/me`, { headers: { cookie: operator } });
    expect(me.status).toBe(200);
    expect(runawayDone).toBe(false);
    const answer = await runaway;
    expect(answer.status).toBe(504);
    expect(answer.body.error?.code).toBe('query_timeout');
    expect((await call('POST', '/api/analytics/sql', operator, { sql: 'SELECT count(*) AS n FROM tenant_findings' })).status).toBe(200);
  });

  it('refuses file access with a reason and no server path', async () => {
    const answer = await call('POST', '/api/analytics/sql', operator, { sql: "SELECT * FROM read_csv('/etc/passwd')" });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toMatch(/read_csv\(\) is refused/);
    expect(JSON.stringify(answer.body)).not.toContain(server.stateDir);
  });

  it('lets an admin download an analytics table as Parquet', async () => {
    const response = await fetch(`${server.baseUrl}/api/analytics/tables/all_findings.parquet`, { headers: { cookie: admin } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="all_findings.parquet"');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(bytes.subarray(-4).toString('latin1')).toBe('PAR1');
    const missing = await fetch(`${server.baseUrl}/api/analytics/tables/nothing.parquet`, { headers: { cookie: admin } });
    expect(missing.status).toBe(404);
  });

  it('reports a tenant whose findings lack a column as drifting, in the drift report and in its health', async () => {
    const file = path.join(server.volumeDir, 'embedded/tenant/globex/composite.sql');
    // The column goes from the view, and so does its description (a description of a missing column is refused).
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replaceAll('status, created_at, updated_at', 'status, created_at').replace(/^-- @column updated_at:.*\n/m, ''));
    expect((await call('POST', '/api/admin/contexts/tenant/globex/regenerate', admin)).status).toBe(200);
    expect((await refreshAndWait()).refresh.last?.outcome).toBe('ok');
    const drift = (await call('GET', '/api/analytics/drift', operator)).body as unknown as { drift: Array<{ tenant: string; kind: string; column: string; severity: string }> };
    expect(drift.drift).toEqual([expect.objectContaining({ tenant: 'globex', kind: 'missing_column', column: 'updated_at', severity: 'warn' })]);
    const health = (await call('POST', '/api/admin/contexts/tenant/globex/health', operator)).body as unknown as { report: { findings: Array<{ check: string; severity: string }> } };
    expect(health.report.findings).toContainEqual(expect.objectContaining({ check: 'schema_drift', severity: 'warn' }));
    const page = await fetch(`${server.baseUrl}/analytics/drift`, { headers: { cookie: operator } });
    expect(await page.text()).toContain('data-tenant="globex"');
  });
});
