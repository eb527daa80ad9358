import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import Database from 'better-sqlite3';
import { resolveContext } from './lib/server/volume/contexts.ts';
import { recordSlowQuery } from './lib/server/store/slow-queries.ts';

/**
 * A writer holding an EXCLUSIVE lock on a rollback-journal database (acme's fleetfolio, in
 * journal_mode delete) makes every reader of it wait or fail. The server's thread must not
 * wait: acme is answered 503 "busy, retry" within its deadline, while other tenants and
 * pages that read no composite keep being served.
 */
let server: RunningConsole;
let acmeUser: string;
let globexUser: string;
let operator: string;
let admin: string;
let writer: ChildProcess | undefined;

/** Starts a process that takes an EXCLUSIVE lock on `file` and holds it until killed. */
function holdExclusiveLock(file: string): Promise<ChildProcess> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('UPDATE findings SET title = title WHERE id = (SELECT min(id) FROM findings)').run();
    console.log('locked');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script, file], { cwd: path.resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it held the lock`)));
  });
}

async function released(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  server = await startConsoleServer({ TRUTH_YARD_QUERY_TIMEOUT_MS: '1500', TRUTH_YARD_LOG_LEVEL: 'silent' });
  acmeUser = await signInForCookie(server.baseUrl, 'acme-user', 'acme-demo-password');
  globexUser = await signInForCookie(server.baseUrl, 'globex-user', 'globex-demo-password');
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
  admin = await signInForCookie(server.baseUrl, 'admin', 'admin-demo-password');
}, 60_000);
afterAll(async () => {
  if (writer) await released(writer);
  await server?.stop();
});

const get = (pathname: string, cookie: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie } });
const sql = (tenant: string, statement: string) =>
  fetch(`${server.baseUrl}/api/tenants/${tenant}/sql`, { method: 'POST', headers: { cookie: operator, origin: server.baseUrl, 'content-type': 'application/json' }, body: JSON.stringify({ sql: statement }) });
const NEWEST = '/api/tenants/acme/objects/all_findings/rows?_sort=created_at&_desc=1&_size=50';
const FILTERED = '/api/tenants/acme/objects/all_findings/rows?severity=high&_sort=created_at&_desc=1';

describe('a writer holding an exclusive lock on one tenant', () => {
  it('answers that tenant 503 database_busy with Retry-After, and everyone else as usual', async () => {
    // Warm: acme's composite connection is open and its listing known before the lock.
    expect((await get(NEWEST, acmeUser)).status).toBe(200);
    const acme = resolveContext(server.volumeDir, 'tenant/acme');
    writer = await holdExclusiveLock(path.join(acme.dir, 'fleetfolio.sqlite.db'));

    const [newest, filtered, page, globex, me] = await Promise.all([
      get(`${NEWEST}&_size=49`, acmeUser),
      get(FILTERED, acmeUser),
      get('/tenants/acme/objects/all_findings?_size=48', acmeUser),
      get('/api/tenants/globex/objects/all_findings/rows?severity=high', globexUser),
      get('/api/me', acmeUser),
    ]);
    for (const busy of [newest, filtered]) {
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('1');
      const body = await busy.json();
      expect(body.error.code).toBe('database_busy');
      expect(body.error.message).toMatch(/locked by a writer.*try again/);
    }
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('locked by a writer');
    expect(globex.status).toBe(200);
    expect((await globex.json()).rows.length).toBeGreaterThan(0);
    expect(me.status).toBe(200);

    await released(writer);
    writer = undefined;
    expect((await get(FILTERED, acmeUser)).status).toBe(200);
    expect((await get(NEWEST, acmeUser)).status).toBe(200);
  }, 30_000);

  it('answers ad-hoc SQL and exports on that tenant 503 database_busy with Retry-After, and on another tenant as usual', async () => {
    expect((await get(NEWEST, acmeUser)).status).toBe(200);
    const acme = resolveContext(server.volumeDir, 'tenant/acme');
    writer = await holdExclusiveLock(path.join(acme.dir, 'fleetfolio.sqlite.db'));

    const [acmeSql, acmeCsv, acmeSearchCsv, globexSql, globexCsv] = await Promise.all([
      sql('acme', 'SELECT count(*) AS n FROM all_findings'),
      get('/api/tenants/acme/objects/all_findings/rows.csv?severity=high', acmeUser),
      // A search's setup reads the database before the export's process starts.
      get('/api/tenants/acme/objects/all_findings/rows.csv?_search=disk', acmeUser),
      sql('globex', 'SELECT count(*) AS n FROM all_findings'),
      get('/api/tenants/globex/objects/all_findings/rows.csv?severity=high', globexUser),
    ]);
    for (const [label, busy] of [['sql', acmeSql], ['csv', acmeCsv], ['csv with a search', acmeSearchCsv]] as const) {
      const text = await busy.text();
      expect(busy.status, `${label}: ${text.slice(0, 300)}`).toBe(503);
      expect(busy.headers.get('retry-after'), label).toBe('1');
      const body = JSON.parse(text);
      expect(body.error.code, label).toBe('database_busy');
      expect(body.error.message, label).toMatch(/locked by a writer.*try again/);
    }
    expect(globexSql.status).toBe(200);
    expect((await globexSql.json()).rows[0].n).toBeGreaterThan(0);
    expect(globexCsv.status).toBe(200);
    expect((await globexCsv.text()).split('\n').length).toBeGreaterThan(2);
    // The SQL page itself still opens, without the names to complete.
    const sqlPage = await get('/tenants/acme/sql', operator);
    expect(sqlPage.status).toBe(200);
    expect(await sqlPage.text()).toContain('data-sql-form');

    await released(writer);
    writer = undefined;
    expect((await sql('acme', 'SELECT count(*) AS n FROM all_findings')).status).toBe(200);
    const csv = await get('/api/tenants/acme/objects/all_findings/rows.csv?severity=high', acmeUser);
    expect(csv.status).toBe(200);
    await csv.text();
  }, 60_000);

  it('shows the slow-query page while that tenant is locked: its plans or why not in words, and other tenants\' plans as usual', async () => {
    const slowPage = 'SELECT * FROM temp."all_findings" WHERE ("status" = ?) ORDER BY "title" ASC LIMIT ?';
    const store = new Database(path.join(server.stateDir, 'console.sqlite.db'), { timeout: 5000 });
    try {
      for (const context of ['tenant/acme', 'tenant/globex']) recordSlowQuery(store, { context, kind: 'page', durationMs: 912.5, sql: slowPage, rows: 50, actor: null });
    } finally {
      store.close();
    }
    expect((await get(NEWEST, acmeUser)).status).toBe(200);
    const acme = resolveContext(server.volumeDir, 'tenant/acme');
    writer = await holdExclusiveLock(path.join(acme.dir, 'fleetfolio.sqlite.db'));

    const [api, page, me] = await Promise.all([get('/api/admin/slow-queries', admin), get('/admin/slow-queries', admin), get('/api/me', acmeUser)]);
    expect(api.status).toBe(200);
    const queries = ((await api.json()) as { queries: Array<{ context: string; sql: string; advice: { plan: Array<{ detail: string }>; problem: string | null } }> }).queries.filter(
      (query) => query.sql === slowPage,
    );
    // A read process with acme's schema already read explains without the lock; one without it finds acme busy and says so in words.
    const acmeAdvice = queries.find((query) => query.context === 'tenant/acme')!.advice;
    if (acmeAdvice.problem === null) expect(acmeAdvice.plan.length).toBeGreaterThan(0);
    else expect(acmeAdvice.problem).toMatch(/^No plan now: A database this reads is locked by a writer.*try again/);
    const globexAdvice = queries.find((query) => query.context === 'tenant/globex')!.advice;
    expect(globexAdvice.problem).toBeNull();
    expect(globexAdvice.plan.map((step) => step.detail).join(' ')).toMatch(/SCAN|SEARCH/);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('912.5 ms');
    expect(html).not.toMatch(/database is locked|SQLITE_/);
    expect(html).not.toContain(server.volumeDir);
    expect(me.status).toBe(200);

    await released(writer);
    writer = undefined;
  }, 60_000);
});
