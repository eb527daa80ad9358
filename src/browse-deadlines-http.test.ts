import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import { resolveContext } from './lib/server/volume/contexts.ts';
import { regenerateComposite } from './lib/server/composite/regenerate.ts';

/**
 * Deadlines of pages, counts and exports over HTTP, with TRUTH_YARD_QUERY_TIMEOUT_MS at
 * 250 ms and a view over acme's 320 findings where every row costs about 2 ms: a page of 5
 * rows in index order is quick; counting all of them, sorting them on a column without an
 * index, or reading them for an export is not.
 */
let server: RunningConsole;
let operator: string;
const SLOW_VIEW = `
CREATE VIEW costly_findings AS
  SELECT id, title, created_at FROM qualityfolio.findings WHERE length(hex(randomblob(500000))) > 0;
`;
const IN_INDEX_ORDER = '_sort=created_at&_desc=1&_size=5';

beforeAll(async () => {
  server = await startConsoleServer({ TRUTH_YARD_QUERY_TIMEOUT_MS: '250' });
  const acme = resolveContext(server.volumeDir, 'tenant/acme');
  fs.appendFileSync(path.join(acme.dir, 'composite.sql'), SLOW_VIEW);
  expect(regenerateComposite(acme).ok).toBe(true);
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
}, 60_000);
afterAll(() => server?.stop());

const get = (pathname: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie: operator } });

describe('query deadlines over HTTP', () => {
  it('serves the rows when their count passes the deadline, with the count left out', async () => {
    const response = await get(`/api/tenants/acme/objects/costly_findings/rows?${IN_INDEX_ORDER}`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.rows).toHaveLength(5);
    expect(body.count).toBeNull();
    expect((await get('/api/me')).status).toBe(200);
  });

  it('says on the page that counting took too long, and still shows the rows', async () => {
    const response = await get(`/tenants/acme/objects/costly_findings?${IN_INDEX_ORDER}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('Counting took too long; narrow the filters to see a count');
    expect(html.match(/<tr\b/g)?.length).toBe(6);
  });

  it('leaves out a facet whose counting passes the deadline, and serves the page and the other answers', async () => {
    const api = await get(`/api/tenants/acme/objects/costly_findings/rows?${IN_INDEX_ORDER}&_facet=title`);
    expect(api.status).toBe(200);
    const body = await api.json();
    expect(body.rows).toHaveLength(5);
    expect(body.facets).toEqual([{ column: 'title', timedOut: true }]);
    // Another column: the title count goes on for later requests and may be kept by now.
    const page = await get(`/tenants/acme/objects/costly_findings?${IN_INDEX_ORDER}&_facet=created_at`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Counting created_at took too long; narrow the filters to see it.');
    expect(html.match(/<tr\b/g)?.length).toBe(6);
  });

  it('answers an export whose first rows miss the deadline with 504 query_timeout, and the next request is served', async () => {
    const response = await get(`/api/tenants/acme/objects/costly_findings/rows.csv?${IN_INDEX_ORDER}`);
    expect(response.status).toBe(504);
    const body = await response.json();
    expect(body.error.code).toBe('query_timeout');
    expect(body.error.message).toMatch(/within 250 ms/);
    expect((await get('/api/me')).status).toBe(200);
  });

  it('answers a page whose sort cannot use an index and misses the deadline with 504, and says so on the page', async () => {
    const api = await get('/api/tenants/acme/objects/costly_findings/rows?_sort=title&_size=5');
    expect(api.status).toBe(504);
    expect((await api.json()).error.code).toBe('query_timeout');
    const page = await get('/tenants/acme/objects/costly_findings?_sort=title&_size=5');
    expect(page.status).toBe(504);
    expect(await page.text()).toContain('did not finish within 250 ms; narrow it with filters and try again');
    expect((await get('/api/me')).status).toBe(200);
  });
});
