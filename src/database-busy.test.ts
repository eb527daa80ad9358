import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import { resolveContext } from './lib/server/volume/contexts.ts';

/**
 * A writer holding an EXCLUSIVE lock on a rollback-journal database (acme's fleetfolio, in
 * journal_mode delete) makes every reader of it wait or fail. The server's thread must not
 * wait: acme is answered 503 "busy, retry" within its deadline, while other tenants and
 * pages that read no composite keep being served.
 */
let server: RunningConsole;
let acmeUser: string;
let globexUser: string;
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
}, 60_000);
afterAll(async () => {
  if (writer) await released(writer);
  await server?.stop();
});

const get = (pathname: string, cookie: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie } });
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
});
