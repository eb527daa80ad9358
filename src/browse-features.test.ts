import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

/**
 * Facets, search and descriptions over HTTP on a copy of the sample volume, checked
 * against what SQLite says reading the source databases directly.
 */
let server: RunningConsole;
let tenant: string;

beforeAll(async () => {
  server = await startConsoleServer();
  tenant = await signInForCookie(server.baseUrl, 'acme-user', 'acme-demo-password');
}, 60_000);
afterAll(() => server?.stop());

const get = (pathname: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie: tenant } });

/** SQL over acme's two findings databases, as the all_findings view unions them. */
function acme<T>(sql: string): T[] {
  const dir = path.join(server.volumeDir, 'embedded', 'tenant', 'acme');
  const db = new Database(path.join(dir, 'qualityfolio.sqlite.db'), { readonly: true });
  try {
    db.prepare('ATTACH DATABASE ? AS fleetfolio').run(path.join(dir, 'fleetfolio.sqlite.db'));
    return db.prepare(sql.replaceAll('all_findings', "(SELECT 'qualityfolio' AS source, * FROM main.findings UNION ALL SELECT 'fleetfolio', * FROM fleetfolio.findings)")).all() as T[];
  } finally {
    db.close();
  }
}

describe('browsing over HTTP', () => {
  it('returns facet counts equal to GROUP BY under the filters', async () => {
    // A first request may pass its deadline while the read processes start; the count goes
    // on and is kept, so an answer soon after has it.
    const url = '/api/tenants/acme/objects/all_findings/rows?status__in=open,in_progress&_facet=severity&_facet=source';
    let body: { facets: Array<{ column: string; values?: Array<{ value: string; count: number }>; timedOut?: boolean }> } = { facets: [] };
    await expect
      .poll(async () => {
        body = await (await get(url)).json();
        return body.facets.every((facet) => facet.values);
      }, { timeout: 30_000 })
      .toBe(true);
    expect(body.facets.map((f: { column: string }) => f.column)).toEqual(['severity', 'source']);
    const severity = Object.fromEntries(body.facets[0].values!.map((v) => [v.value, v.count]));
    const expected = Object.fromEntries(
      acme<{ severity: string; n: number }>("SELECT severity, count(*) AS n FROM all_findings WHERE status IN ('open', 'in_progress') GROUP BY severity").map((r) => [r.severity, r.n]),
    );
    expect(severity).toEqual(expected);
  });

  it('links each facet value to the page narrowed to it', async () => {
    const html = await (await get('/tenants/acme/objects/all_findings?_facet=severity')).text();
    expect(html.replaceAll('&#38;', '&amp;')).toContain('href="/tenants/acme/objects/all_findings?_facet=severity&amp;severity=critical"');
  });

  it('searches titles through the full-text index, ranked, with matches marked', async () => {
    const body = await (await get('/api/tenants/acme/objects/all_findings/rows?_search=checkout&_size=5')).json();
    expect(body.rows).toHaveLength(5);
    expect(body.count).toBe(acme<{ n: number }>("SELECT count(*) AS n FROM all_findings WHERE title LIKE '%checkout%'")[0].n);
    expect(body.snippets[0]).toContainEqual({ text: 'checkout', match: true });
    const html = await (await get('/tenants/acme/objects/all_findings?_search=checkout&_size=5')).text();
    expect(html).toContain('<mark');
  });

  it('answers search syntax errors with 400 and a message saying what to write', async () => {
    const response = await get(`/api/tenants/acme/objects/all_findings/rows?_search=${encodeURIComponent('"unclosed')}`);
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.code).toBe('bad_search');
    expect(body.error.message).toMatch(/not valid full-text search syntax/);
    const page = await get(`/tenants/acme/objects/all_findings?_search=${encodeURIComponent('"unclosed')}`);
    expect(page.status).toBe(400);
  });

  it('searches a table without an index by substring and says how to index it', async () => {
    const body = await (await get('/api/tenants/acme/objects/qualityfolio.test_cases/rows?_search=billing')).json();
    expect(body.rows.length).toBeGreaterThan(0);
    expect(body.rows.every((row: { title: string; suite: string }) => `${row.title} ${row.suite}`.includes('billing'))).toBe(true);
    expect(body.searchNote).toMatch(/CREATE VIRTUAL TABLE "test_cases_fts" USING fts5\(/);
  });

  it('returns descriptions with the objects, and shows them on the page', async () => {
    const body = await (await get('/api/tenants/acme/objects')).json();
    // A full-text index is listed; its shadow tables (index internals) are not.
    const names = body.objects.map((o: { name: string }) => o.name);
    expect(names).toContain('qualityfolio.findings_fts');
    expect(names.filter((name: string) => /_fts_(data|idx|docsize|config|content)$/.test(name))).toEqual([]);
    const allFindings = body.objects.find((o: { name: string }) => o.name === 'all_findings');
    expect(allFindings.description).toMatch(/^Every finding of the tenant/);
    expect(allFindings.columns.find((c: { name: string }) => c.name === 'created_at')).toMatchObject({ kind: 'date', description: 'when the finding was raised (UTC)' });
    const html = await (await get('/tenants/acme/objects/all_findings')).text();
    expect(html).toContain('Every finding of the tenant');
    expect(html).toContain('title="when the finding was raised (UTC)"');
    expect(html).toContain('type="date" name="_range_from"');
    // A range set shows both its ends in the form, so setting one again keeps the other.
    const ranged = await (await get('/tenants/acme/objects/all_findings?created_at__gte=2026-02-01&created_at__lt=2026-04-01')).text();
    expect(ranged).toMatch(/name="_range_from"[^>]*value="2026-02-01"/);
    expect(ranged).toMatch(/name="_range_to"[^>]*value="2026-03-31"/);
  });
});
