import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

/**
 * Saved views over HTTP: private ones are their owner's alone, shared ones reach everyone
 * who can see the context, and opening one is following a URL of that context, which is
 * authorized again (a tenant never opens a view saved on another tenant).
 */
let server: RunningConsole;
const cookie: Record<string, string> = {};

beforeAll(async () => {
  server = await startConsoleServer();
  for (const [who, password] of [
    ['acme-user', 'acme-demo-password'],
    ['globex-user', 'globex-demo-password'],
    ['operator', 'operator-demo-password'],
    ['admin', 'admin-demo-password'],
  ]) {
    cookie[who] = await signInForCookie(server.baseUrl, who, password);
  }
}, 60_000);
afterAll(() => server?.stop());

const get = (who: string, pathname: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie: cookie[who] }, redirect: 'manual' });
async function save(who: string, ctxPath: string, view: Record<string, unknown>) {
  const response = await fetch(`${server.baseUrl}/api/${ctxPath}/views`, {
    method: 'POST',
    headers: { cookie: cookie[who], origin: server.baseUrl, 'content-type': 'application/json' },
    body: JSON.stringify(view),
  });
  return { status: response.status, body: await response.json() };
}
const names = async (who: string, ctxPath: string) => ((await (await get(who, `/api/${ctxPath}/views`)).json()).views as Array<{ name: string }>).map((v) => v.name);

describe('saved views', () => {
  let privateId: number;
  let sharedId: number;
  let sqlId: number;
  let adminId: number;

  beforeAll(async () => {
    const target = 'objects/all_findings?severity=critical&_sort=created_at&_desc=1';
    privateId = (await save('acme-user', 'tenants/acme', { name: 'My critical ones', kind: 'browse', target })).body.view.id;
    sharedId = (await save('acme-user', 'tenants/acme', { name: 'Critical, newest first', description: 'For the weekly review', kind: 'browse', target, shared: true })).body.view.id;
    sqlId = (await save('operator', 'tenants/acme', { name: 'Counts by status', kind: 'sql', target: 'SELECT status, count(*) FROM all_findings GROUP BY status', shared: true })).body.view.id;
    adminId = (await save('admin', 'admin', { name: 'Admin deployments', kind: 'browse', target: 'objects/latest_deployments', shared: true })).body.view.id;
  });

  it('lists private views to their owner only and shared ones to everyone who sees the context', async () => {
    expect(await names('acme-user', 'tenants/acme')).toEqual(['Critical, newest first', 'My critical ones']);
    expect(await names('operator', 'tenants/acme')).toEqual(['Counts by status', 'Critical, newest first']);
    expect((await get('operator', `/tenants/acme/views/${privateId}`)).status).toBe(404);
  });

  it('opens a view by redirecting to its page within the same context', async () => {
    const response = await get('operator', `/tenants/acme/views/${sharedId}`);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/tenants/acme/objects/all_findings?severity=critical&_sort=created_at&_desc=1');
    const html = await (await get('acme-user', '/tenants/acme/objects')).text();
    expect(html).toContain('Critical, newest first');
    expect(html).toContain('For the weekly review');
  });

  it('never opens a view saved on another tenant, whatever path names it', async () => {
    for (const path of [`/tenants/globex/views/${sharedId}`, `/tenants/acme/views/${sharedId}`, `/api/tenants/acme/views/${sharedId}`, `/api/tenants/globex/views/${sharedId}`]) {
      expect((await get('globex-user', path)).status, path).toBe(404);
    }
    expect(await names('globex-user', 'tenants/globex')).toEqual([]);
    expect((await get('acme-user', `/tenants/acme/views/${adminId}`)).status).toBe(404);
    expect((await get('acme-user', `/admin/views/${adminId}`)).status).toBe(404);
  });

  it('keeps SQL views from users who may not run SQL, even when shared', async () => {
    expect((await get('acme-user', `/tenants/acme/views/${sqlId}`)).status).toBe(404);
    const opened = await get('operator', `/tenants/acme/views/${sqlId}`);
    expect(opened.headers.get('location')).toBe(`/tenants/acme/sql?view=${sqlId}`);
    expect(await (await get('operator', `/tenants/acme/sql?view=${sqlId}`)).text()).toContain('SELECT status, count(*) FROM all_findings GROUP BY status');
    // A listing is not a statement: the SQL page does not open one.
    expect((await get('operator', `/tenants/acme/sql?view=${sharedId}`)).status).toBe(404);
    expect((await save('acme-user', 'tenants/acme', { name: 'x', kind: 'sql', target: 'SELECT 1' })).status).toBe(404);
  });

  it('refuses a target outside the context and a view without a name, saying what to write', async () => {
    const away = await save('acme-user', 'tenants/acme', { name: 'Elsewhere', kind: 'browse', target: '../globex/objects/all_findings' });
    expect(away.status).toBe(400);
    expect(away.body.error.message).toMatch(/objects\/<table or view>\?<filters>/);
    for (const target of ['objects/..', 'objects/%2e%2e?x=1', 'objects/..\\..\\..\\admin', 'objects/a%2f..%2f..', 'objects/%5c..', '/tenants/globex/objects/all_findings']) {
      expect((await save('acme-user', 'tenants/acme', { name: 'Elsewhere', kind: 'browse', target })).status, target).toBe(400);
    }
    expect((await save('acme-user', 'tenants/acme', { name: ' ', kind: 'browse', target: 'objects/all_findings' })).body.error.message).toBe('Give the saved view a name.');
  });

  it('lets the owner delete a view, and nobody else', async () => {
    const id = (await save('acme-user', 'tenants/acme', { name: 'Short-lived', kind: 'browse', target: 'objects/all_findings', shared: true })).body.view.id;
    const remove = (who: string, ctxPath: string) => fetch(`${server.baseUrl}/api/${ctxPath}/views/${id}`, { method: 'DELETE', headers: { cookie: cookie[who], origin: server.baseUrl } });
    expect((await remove('operator', 'tenants/acme')).status).toBe(404);
    expect((await remove('globex-user', 'tenants/globex')).status).toBe(404);
    expect(await names('operator', 'tenants/acme')).toContain('Short-lived');
    expect((await remove('acme-user', 'tenants/acme')).status).toBe(200);
    expect(await names('operator', 'tenants/acme')).not.toContain('Short-lived');
    expect((await remove('acme-user', 'tenants/acme')).status).toBe(404);
  });

  it('audits every save', async () => {
    const events = (await (await get('admin', '/api/admin/audit?limit=50')).json()).events as Array<{ action: string; actor: string; outcome: string; target: string; detail: { name?: string } }>;
    const saves = events.filter((event) => event.action === 'view.save');
    expect(saves).toContainEqual(expect.objectContaining({ actor: 'acme-user', outcome: 'ok', target: 'tenant/acme', detail: expect.objectContaining({ name: 'My critical ones', shared: false }) }));
    expect(saves).toContainEqual(expect.objectContaining({ actor: 'acme-user', outcome: 'error', target: 'tenant/acme' }));
  });
});
