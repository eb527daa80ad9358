import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

/**
 * A warmed context (its connection open, its pages kept for reuse) whose attached database
 * is then deleted, replaced or damaged on disk: SQLite keeps reading the file it opened, or
 * fails every read. The console notices before each use and answers 503 with what is wrong,
 * never the old rows with 200 and never a bare 500; once the file is back, rows again.
 */
let server: RunningConsole;
let operator: string;
let fleetfolio: string;
let backup: string;

beforeAll(async () => {
  server = await startConsoleServer();
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
  fleetfolio = path.join(server.volumeDir, 'embedded/tenant/acme/fleetfolio.sqlite.db');
  backup = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'yard-backup-')), 'fleetfolio.sqlite.db');
  fs.copyFileSync(fleetfolio, backup);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  fs.rmSync(path.dirname(backup), { recursive: true, force: true });
});

const ROWS = '/api/tenants/acme/objects/all_findings/rows?source=fleetfolio&_sort=created_at&_desc=1&_size=5';
const PAGE = '/tenants/acme/objects/all_findings?source=fleetfolio&_sort=created_at&_desc=1&_size=5';
const get = (pathname: string) => fetch(`${server.baseUrl}${pathname}`, { headers: { cookie: operator } });

/** Replaces the file by a new one (another inode), as a restore or a careless copy does. */
function replaceWith(content: Buffer | string): void {
  const next = `${fleetfolio}.next`;
  fs.writeFileSync(next, content);
  fs.renameSync(next, fleetfolio);
}

const breakages: Array<[string, () => void, RegExp]> = [
  ['deleted', () => fs.rmSync(fleetfolio), /composite of tenant\/acme cannot be opened now: its attached database fleetfolio is missing or not usable/],
  ['replaced by a text file', () => replaceWith('inventory export\n'.repeat(200)), /cannot be read .*not a database/],
  ['truncated to half', () => fs.truncateSync(fleetfolio, Math.floor(fs.statSync(backup).size / 2)), /cannot be read .*(malformed|not a database)/],
  ['given a damaged header', () => replaceWith(Buffer.concat([Buffer.alloc(100, 0x5a), fs.readFileSync(backup).subarray(100)])), /cannot be read .*not a database/],
  ['made a symlink out of the folder', () => (fs.rmSync(fleetfolio), fs.symlinkSync(backup, fleetfolio)), /composite of tenant\/acme cannot be opened now: its attached database fleetfolio is missing or not usable/],
];

describe('a warmed context whose attached database changes on disk', () => {
  it.each(breakages)('answers 503 with what is wrong when it was %s, and rows again once it is restored', async (_how, breakIt, explained) => {
    const before = await get(ROWS);
    expect(before.status).toBe(200);
    expect((await before.json()).rows.length).toBeGreaterThan(0);
    expect((await get(PAGE)).status).toBe(200);

    breakIt();
    const after = await get(ROWS);
    expect(after.status).toBe(503);
    const body = await after.json();
    expect(body.error.code).toBe('composite_unavailable');
    expect(body.error.message).toMatch(explained);
    const page = await get(PAGE);
    expect(page.status).toBe(503);
    const html = await page.text();
    expect(html).toMatch(explained);

    fs.rmSync(fleetfolio, { force: true });
    fs.copyFileSync(backup, fleetfolio);
    expect((await get(ROWS)).status).toBe(200);
  });
});
