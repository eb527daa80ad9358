import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import { resolveContext } from './lib/server/volume/contexts.ts';

/**
 * Regeneration from the web runs on a worker thread, under limits: a 10 MB composite.sql
 * (about 100,000 views) once froze the server for seconds and then ran it out of heap.
 */
let server: RunningConsole;
let admin: string;

beforeAll(async () => {
  server = await startConsoleServer();
  admin = await signInForCookie(server.baseUrl, 'admin', 'admin-demo-password');
}, 60_000);
afterAll(() => server?.stop());

const regenerate = (context: string) => fetch(`${server.baseUrl}/api/admin/contexts/${context}/regenerate`, { method: 'POST', headers: { cookie: admin, origin: server.baseUrl } });

describe('regenerating a huge composite.sql from the web', () => {
  it('refuses it at file:line with 422, keeps the old composite serving and the server answering', async () => {
    const acme = resolveContext(server.volumeDir, 'tenant/acme');
    const original = fs.readFileSync(path.join(acme.dir, 'composite.sql'), 'utf8');
    const views = Array.from({ length: 100_000 }, (_, i) => `CREATE VIEW padding_${i} AS SELECT ${i} AS n FROM qualityfolio.findings; -- generated\n`).join('');
    fs.writeFileSync(path.join(acme.dir, 'composite.sql'), original + views);

    const [answer, me] = await Promise.all([regenerate('tenant/acme'), fetch(`${server.baseUrl}/api/me`, { headers: { cookie: admin } })]);
    expect(me.status).toBe(200);
    expect(answer.status).toBe(422);
    const body = await answer.json();
    expect(body.error.code).toBe('regeneration_failed');
    expect(body.problems).toEqual([expect.objectContaining({ file: 'embedded/tenant/acme/composite.sql', message: expect.stringMatching(/bytes, more than the 524,288 a composite may have/) })]);
    expect(body.problems[0].line).toBeGreaterThan(original.split('\n').length);

    const rows = await fetch(`${server.baseUrl}/api/tenants/acme/objects/all_findings/rows?_size=1`, { headers: { cookie: admin } });
    expect(rows.status).toBe(200);
    fs.writeFileSync(path.join(acme.dir, 'composite.sql'), original);
    expect((await regenerate('tenant/acme')).status).toBe(200);
  }, 60_000);
});
