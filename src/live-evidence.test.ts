import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

/**
 * Browse pages and counts are reused between requests; evidence written by another process
 * while the console serves must still show on the very next request.
 */
let server: RunningConsole;
let operator: string;
const NEWEST_FIRST = '/api/tenants/acme/objects/all_findings/rows?_sort=created_at&_desc=1&_size=5';

beforeAll(async () => {
  server = await startConsoleServer();
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
}, 60_000);
afterAll(() => server?.stop());

async function getJson(pathname: string) {
  const response = await fetch(`${server.baseUrl}${pathname}`, { headers: { cookie: operator } });
  expect(response.status, pathname).toBe(200);
  return response.json();
}

/** A writer of the tenant's evidence, as the platform that records it would be. */
function withEvidenceWriter(database: 'qualityfolio' | 'fleetfolio', write: (db: Database.Database) => void): void {
  const db = new Database(path.join(server.volumeDir, 'embedded/tenant/acme', `${database}.sqlite.db`));
  try {
    write(db);
  } finally {
    db.close();
  }
}

describe('evidence written while the console serves', () => {
  it('shows a finding committed to a WAL database on the next rows request, with the count updated', async () => {
    const before = await getJson(NEWEST_FIRST);
    expect(await getJson(NEWEST_FIRST)).toEqual(before);
    withEvidenceWriter('qualityfolio', (db) =>
      db
        .prepare("INSERT INTO findings (title, severity, status, created_at, updated_at) VALUES ('written while serving', 'high', 'open', '2099-01-01T00:00:00Z', '2099-01-01T00:00:00Z')")
        .run(),
    );
    const after = await getJson(NEWEST_FIRST);
    expect(after.rows[0]).toMatchObject({ source: 'qualityfolio', title: 'written while serving' });
    expect(after.count).toBe(before.count + 1);
  });

  it('drops a deleted finding from a rollback-journal database on the next request', async () => {
    const before = await getJson('/api/tenants/acme/objects/all_findings/rows?source=fleetfolio&_sort=created_at&_desc=1&_size=5');
    const newest = before.rows[0];
    withEvidenceWriter('fleetfolio', (db) => db.prepare('DELETE FROM findings WHERE id = ?').run(newest.id));
    const after = await getJson('/api/tenants/acme/objects/all_findings/rows?source=fleetfolio&_sort=created_at&_desc=1&_size=5');
    expect(after.rows.map((row: { id: number }) => row.id)).not.toContain(newest.id);
    expect(after.count).toBe(before.count - 1);
  });

  it('lists a table created in an attached database on the next objects request', async () => {
    const names = async () => ((await getJson('/api/tenants/acme/objects')).objects as Array<{ name: string }>).map((object) => object.name);
    expect(await names()).not.toContain('fleetfolio.scan_windows');
    withEvidenceWriter('fleetfolio', (db) => db.exec('CREATE TABLE scan_windows (id INTEGER PRIMARY KEY, starts_at TEXT)'));
    expect(await names()).toContain('fleetfolio.scan_windows');
  });
});

describe('row counts with page reuse off (TRUTH_YARD_RESULT_CACHE_MB=0)', () => {
  let pagesReadServer: RunningConsole;
  let admin: string;
  beforeAll(async () => {
    pagesReadServer = await startConsoleServer({ TRUTH_YARD_RESULT_CACHE_MB: '0' });
    admin = await signInForCookie(pagesReadServer.baseUrl, 'admin', 'admin-demo-password');
  }, 60_000);
  afterAll(() => pagesReadServer?.stop());

  const rows = async () => {
    const response = await fetch(`${pagesReadServer.baseUrl}${NEWEST_FIRST}`, { headers: { cookie: admin } });
    expect(response.status).toBe(200);
    return (await response.json()) as { count: number; rows: Array<{ title: string }> };
  };
  const reused = async (kind: 'page' | 'count') => {
    const text = await (await fetch(`${pagesReadServer.baseUrl}/metrics`, { headers: { cookie: admin } })).text();
    return Number(new RegExp(`^yard_result_reuse_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };

  it('reads every page but counts the listing once until its data changes, then counts it again', async () => {
    const first = await rows();
    const [pagesBefore, countsBefore] = [await reused('page'), await reused('count')];
    await rows();
    await rows();
    expect(await reused('page')).toBe(pagesBefore);
    expect(await reused('count')).toBe(countsBefore + 2);
    const db = new Database(path.join(pagesReadServer.volumeDir, 'embedded/tenant/acme/qualityfolio.sqlite.db'));
    try {
      db.prepare("INSERT INTO findings (title, severity, status, created_at, updated_at) VALUES ('counted anew', 'low', 'open', '2099-02-01T00:00:00Z', '2099-02-01T00:00:00Z')").run();
    } finally {
      db.close();
    }
    const after = await rows();
    expect(after.rows[0]!.title).toBe('counted anew');
    expect(after.count).toBe(first.count + 1);
  });
});
