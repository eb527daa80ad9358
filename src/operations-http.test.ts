import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import path from 'node:path';
import Database from 'better-sqlite3';
import { signInForCookie as signIn, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

/**
 * The operations surface over HTTP against the built server: /metrics access and format,
 * the snapshot API (taken, verified and restored, confirmed, admins only), and the
 * slow-query log with plans. Every read counts as slow here (TRUTH_YARD_SLOW_QUERY_MS=1).
 */
const TOKEN = 'metrics-token-0123456789abcdef0123456789abcdef';
let server: RunningConsole;
let admin: string;
let operator: string;

beforeAll(async () => {
  server = await startConsoleServer({ TRUTH_YARD_METRICS_TOKEN: TOKEN, TRUTH_YARD_SLOW_QUERY_MS: '1' });
  admin = await signIn(server.baseUrl, 'admin', 'admin-demo-password');
  operator = await signIn(server.baseUrl, 'operator', 'operator-demo-password');
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.baseUrl}${path}`, { headers });
const post = (path: string, cookie: string, body: unknown = {}) =>
  fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { cookie, origin: server.baseUrl, 'content-type': 'application/json' }, body: JSON.stringify(body) });

interface Family {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string> }>;
}

describe('GET /metrics', () => {
  it('is refused to anonymous requests and to a wrong bearer token', async () => {
    const anonymous = await get('/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await get('/metrics', { authorization: `Bearer ${TOKEN.replace(/.$/, 'x')}` });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('bad_token');
    expect((await get('/metrics', { authorization: 'Basic abc' })).status).toBe(401);
    // A signed-in operator does not learn it exists.
    expect((await get('/metrics', { cookie: operator })).status).toBe(404);
  });

  it('answers Prometheus text, to the scraper token and to an admin session, with request, query and size series', async () => {
    await get('/api/tenants/acme/objects/all_findings/rows?_size=5', { cookie: admin });
    const scraped = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scraped.text();
    const families = parsePrometheusTextFormat(text) as Family[];
    const byName = new Map(families.map((family) => [family.name, family]));
    const requests = byName.get('yard_http_requests_total')!;
    expect(requests.type).toBe('COUNTER');
    expect(requests.metrics.some((m) => m.labels?.route === 'api:context:read-context' && m.labels.status === '200')).toBe(true);
    expect(byName.get('yard_http_request_duration_seconds')!.type).toBe('HISTOGRAM');
    // A latency histogram per query kind (the parser keeps a histogram's buckets but not its labels, so those are read from the text).
    expect(byName.get('yard_query_duration_seconds')!.type).toBe('HISTOGRAM');
    for (const kind of ['page', 'count', 'export', 'adhoc', 'analytics']) expect(text).toContain(`yard_query_duration_seconds_count{kind="${kind}"}`);
    expect(byName.get('yard_query_deadlines_total')!.metrics.map((m) => m.labels?.kind)).toEqual(['page', 'count', 'export', 'adhoc', 'analytics']);
    const contextSizes = byName.get('yard_context_database_bytes')!.metrics;
    expect(contextSizes.find((m) => m.labels?.context === 'tenant/acme')!.value).toMatch(/^[1-9]\d*$/);
    expect(Number(byName.get('yard_contexts')!.metrics[0]!.value)).toBe(5);
    for (const name of ['yard_query_deadlines_total', 'yard_result_reuse_total', 'yard_connections_open', 'yard_regenerations_total', 'yard_health_runs_total', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(byName.has(name), name).toBe(true);
    }
    expect((await get('/metrics', { cookie: admin })).status).toBe(200);
  });
});

describe('snapshots over the API', () => {
  it('takes, lists, verifies and restores a snapshot; a restore must be confirmed and can be undone', async () => {
    const api = '/api/admin/contexts/tenant/globex/snapshots';
    const taken = (await (await post(api, admin)).json()) as { ok: boolean; snapshot: { id: string; context: string; files: unknown[] } };
    expect(taken).toMatchObject({ ok: true, snapshot: { context: 'tenant/globex' } });
    expect(taken.snapshot.files.length).toBeGreaterThan(0);
    const listed = (await (await get(api, { cookie: admin })).json()) as { snapshots: Array<{ id: string }> };
    expect(listed.snapshots.map((s) => s.id)).toContain(taken.snapshot.id);

    const verified = (await (await post(`${api}/${taken.snapshot.id}/verify`, admin)).json()) as { verification: { ok: boolean } };
    expect(verified.verification.ok).toBe(true);

    const unconfirmed = await post(`${api}/${taken.snapshot.id}/restore`, admin, {});
    expect(unconfirmed.status).toBe(400);
    expect(((await unconfirmed.json()) as { error: { message: string } }).error.message).toMatch(/confirm it by sending \{"confirm": "tenant\/globex"\}/);

    const restored = await post(`${api}/${taken.snapshot.id}/restore`, admin, { confirm: 'tenant/globex' });
    const answer = (await restored.json()) as { ok: boolean; preRestoreSnapshot: string; regenerated: boolean };
    expect(restored.status).toBe(200);
    expect(answer).toMatchObject({ ok: true, regenerated: true });
    // The context keeps serving after its composite was regenerated over the restored files.
    expect((await get('/api/tenants/globex/objects/all_findings/rows?_size=1', { cookie: admin })).status).toBe(200);
    const audit = (await (await get('/api/admin/audit?limit=10', { cookie: admin })).json()) as { events: Array<{ action: string; target: string }> };
    expect(audit.events.map((e) => e.action)).toContain('snapshot.restore');
  });

  it('refuses an unknown snapshot and a snapshot of another context by the same answer', async () => {
    const taken = (await (await post('/api/admin/contexts/tenant/acme/snapshots', admin)).json()) as { snapshot: { id: string } };
    const elsewhere = await post(`/api/admin/contexts/tenant/globex/snapshots/${taken.snapshot.id}/verify`, admin);
    const unknown = await post('/api/admin/contexts/tenant/globex/snapshots/00000000-0000-4000-8000-000000000000/verify', admin);
    expect(elsewhere.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(((await elsewhere.json()) as { error: { code: string } }).error.code).toBe('snapshot_not_found');
    // Operators may not verify or restore: to them the routes do not exist.
    expect((await post(`/api/admin/contexts/tenant/acme/snapshots/${taken.snapshot.id}/verify`, operator)).status).toBe(404);
    expect((await post(`/api/admin/contexts/tenant/acme/snapshots/${taken.snapshot.id}/restore`, operator, { confirm: 'tenant/acme' })).status).toBe(404);
  });
});

describe('snapshot forms of the context page, without JavaScript', () => {
  const form = (cookie: string, fields: Record<string, string>) =>
    fetch(`${server.baseUrl}/admin/contexts/tenant/initech`, { method: 'POST', headers: { cookie, origin: server.baseUrl }, body: new URLSearchParams(fields) });

  it('take a snapshot, ask before restoring, and are refused to operators like the API', async () => {
    const taken = await form(admin, { 'snapshot-action': 'create' });
    expect(taken.status).toBe(200);
    const id = /Snapshot ([0-9a-f-]{36}) taken\./.exec(await taken.text())?.[1];
    expect(id).toBeDefined();

    const asked = await (await form(admin, { 'snapshot-action': 'restore', snapshot: id! })).text();
    expect(asked).toContain('Type <code class="font-mono">tenant/initech</code> to restore snapshot');
    const restored = await form(admin, { 'snapshot-action': 'restore', snapshot: id!, confirm: 'tenant/initech' });
    expect(restored.status).toBe(200);
    expect(await restored.text()).toMatch(/Restored; the replaced databases were kept as snapshot [0-9a-f-]{36}\./);

    const refused = await form(operator, { 'snapshot-action': 'create' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).not.toContain('taken.');
  });
});

describe('the slow-query log', () => {
  it('keeps slow reads with their user and redacted statement, and shows their plans with index advice', async () => {
    await get('/api/tenants/initech/objects/all_findings/rows?severity=high&_sort=title&_size=5', { cookie: admin });
    const answer = (await (await get('/api/admin/slow-queries', { cookie: admin })).json()) as {
      queries: Array<{ context: string; kind: string; sql: string; actor: string; advice: { plan: Array<{ detail: string }>; suggestions: string[] } }>;
    };
    const page = answer.queries.find((q) => q.context === 'tenant/initech' && q.kind === 'page' && q.sql.includes('"title"'));
    expect(page, JSON.stringify(answer.queries.map((q) => q.sql))).toBeDefined();
    expect(page!.actor).toBe('admin');
    expect(page!.sql).not.toContain('high');
    expect(page!.advice.plan.length).toBeGreaterThan(0);
    expect(page!.advice.suggestions.join(' ')).toMatch(/TEMP B-TREE|SCAN/);
  });
});

describe('the audit page', () => {
  // Last in this file: it edits the trail.
  it('says the trail holds, and after an edit names the first broken event', async () => {
    expect(await (await get('/admin/audit', { cookie: admin })).text()).toMatch(/The trail is intact: all \d+ events are linked/);
    const store = new Database(path.join(server.stateDir, 'console.sqlite.db'), { timeout: 5000 });
    store.prepare("UPDATE audit_events SET outcome = 'ok', actor = 'someone else' WHERE id = 3").run();
    store.close();
    const page = await (await get('/admin/audit', { cookie: admin })).text();
    expect(page).toContain('The trail was tampered with at event 3: event 3 was changed after it was recorded');
    expect(page).toMatch(/<tr[^>]*data-event="3"[^>]*data-broken-link/);
  });
});
