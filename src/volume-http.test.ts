import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachNewDatabase, signInDemoUsers, startConsoleServer } from './testing/console-server.ts';

/*
 * What the built server shows of the volume it serves: never where it lies on disk, and
 * to a tenant user nothing of another tenant; and every table a composite attaches is
 * reachable by its name, whatever characters the name has.
 */

/** Table names the probe could not reach: a space or a double quote together with `=`, `;` or `/`. */
const ODD_NAMES = ['two words=x', 'quote"and;semi', 'slash/and space', 'eq=only', 'plain_name'];

let server: Awaited<ReturnType<typeof startConsoleServer>>;
let cookies: Record<string, string> = {};

beforeAll(async () => {
  server = await startConsoleServer();
  cookies = await signInDemoUsers(server, ['admin', 'acme-user', 'initech-user']);
  // Odd table names in a database acme's composite attaches.
  await attachNewDatabase(server, cookies.admin!, 'tenant/acme', 'odd', (db) => {
    for (const name of ODD_NAMES) {
      const table = `"${name.replaceAll('"', '""')}"`;
      db.exec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, label TEXT); INSERT INTO ${table} (label) VALUES ('row of ${name.replaceAll("'", "''")}');`);
    }
  });
}, 60_000);
afterAll(() => server?.stop());

async function get(pathname: string, cookie: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${server.baseUrl}${pathname}`, { headers: { cookie }, redirect: 'manual' });
  return { status: response.status, body: await response.text() };
}

describe('a composite that cannot be opened', () => {
  it('tells a tenant user nothing of the disk or of another tenant, even when a link leads into another tenant', async () => {
    // initech's database is swapped for a link to globex's: its composite refuses to open.
    const initechDir = path.join(server.volumeDir, 'embedded/tenant/initech');
    fs.rmSync(path.join(initechDir, 'qualityfolio.sqlite.db'));
    fs.symlinkSync(path.join(server.volumeDir, 'embedded/tenant/globex/qualityfolio.sqlite.db'), path.join(initechDir, 'qualityfolio.sqlite.db'));
    for (const pathname of ['/api/tenants/initech/objects', '/api/tenants/initech/objects/all_findings/rows', '/tenants/initech/objects/all_findings', '/api/dashboard']) {
      const answer = await get(pathname, cookies['initech-user']!);
      if (!pathname.endsWith('dashboard')) expect(answer.status, pathname).toBe(503);
      expect(answer.body, pathname).toContain('cannot be opened now');
      expect(answer.body, pathname).not.toContain(server.volumeDir);
      expect(answer.body, pathname).not.toMatch(/globex|\/tmp\/|embedded\//);
    }
    const api = JSON.parse((await get('/api/tenants/initech/objects', cookies['initech-user']!)).body) as { error: { code: string; message: string } };
    expect(api.error).toEqual({
      code: 'composite_unavailable',
      message: 'The composite of tenant/initech cannot be opened now: its attached database qualityfolio is missing or not usable. An admin can see why on its context page (/admin/contexts/tenant/initech) and regenerate it.',
    });
  });
});

describe('objects with odd names', () => {
  it.each(ODD_NAMES)('%s is reachable as a page, its rows and a download, with no error logged', async (name) => {
    const object = encodeURIComponent(`odd.${name}`);
    const logged = server.output().length;
    const page = await get(`/tenants/acme/objects/${object}`, cookies['acme-user']!);
    expect(page.status, page.body.slice(0, 300)).toBe(200);
    expect(page.body).toContain(`row of ${name.replaceAll('"', '&quot;')}`);
    const rows = await get(`/api/tenants/acme/objects/${object}/rows`, cookies['acme-user']!);
    expect(rows.status, rows.body.slice(0, 300)).toBe(200);
    expect((JSON.parse(rows.body) as { object: { name: string }; rows: Array<{ label: string }> }).rows[0]!.label).toBe(`row of ${name}`);
    const csv = await get(`/api/tenants/acme/objects/${object}/rows.csv`, cookies['acme-user']!);
    expect(csv.status).toBe(200);
    expect(csv.body.replaceAll(`""`, `"`)).toContain(`row of ${name}`);
    expect(server.output().slice(logged)).not.toMatch(/error|multi-level/i);
  });

  it('keeps the names on the object list as links that lead to them', async () => {
    const list = await get('/tenants/acme/objects', cookies['acme-user']!);
    for (const name of ODD_NAMES) expect(list.body).toContain(`href="/tenants/acme/objects/${encodeURIComponent(`odd.${name}`)}"`);
  });
});
