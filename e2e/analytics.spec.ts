import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { launchConsole, type RunningConsole } from '../src/testing/console-server.ts';
import { ensureDemoUsers, demoLogins } from '../src/lib/server/services/demo.ts';
import { openConsoleStore } from '../src/lib/server/store/database.ts';
import { keepScreenshot } from './support.ts';

/*
 * The fleet dashboard on a volume of more tenants than the old 50-tenant chart limit: after
 * the admin presses Refresh on the analytics page, the dashboard counts every tenant.
 */

const TENANTS = 60;
const ROWS = 20;
let root: string;
let server: RunningConsole;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-e2e-fleet-'));
  const volumeDir = path.join(root, 'volume');
  const stateDir = path.join(root, 'state');
  execFileSync(process.execPath, ['bin/yard.mjs', '--state-dir', stateDir, 'sample', '--out', volumeDir, '--tenants', String(TENANTS), '--dbs-per-tenant', '1', '--rows', String(ROWS), '--json'], {
    stdio: 'ignore',
  });
  const store = openConsoleStore(stateDir);
  await ensureDemoUsers(store, []);
  store.close();
  server = await launchConsole(volumeDir, stateDir);
});

test.afterAll(async () => {
  await server?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test('the fleet dashboard counts all of more than 50 tenants after a refresh from the analytics page', async ({ page }, testInfo) => {
  const admin = demoLogins([]).find((login) => login.role === 'admin')!;
  const signedIn = await page.request.post(`${server.baseUrl}/api/login`, { data: { username: admin.username, password: admin.password }, headers: { origin: server.baseUrl } });
  expect(signedIn.status()).toBe(200);

  await page.goto(`${server.baseUrl}/`);
  await expect(page.locator('[data-fleet-freshness]')).toContainText('have not been refreshed yet');

  await page.goto(`${server.baseUrl}/analytics`);
  await expect(page.locator('[data-freshness]')).toContainText('No analytics yet');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(page.locator('[data-freshness]')).toContainText(`${TENANTS} tenants, ${(TENANTS * ROWS).toLocaleString('en')} findings`, { timeout: 60_000 });
  await expect(page.locator('[data-refresh-history] tbody tr').first()).toContainText('admin');

  await page.goto(`${server.baseUrl}/`);
  const freshness = page.locator('[data-fleet-freshness]');
  await expect(freshness).toContainText(`${TENANTS} tenants, ${(TENANTS * ROWS).toLocaleString('en')} findings in ${TENANTS} of them`);
  await expect(page.getByText(/not charted here/)).toHaveCount(0);
  await expect(page.getByRole('img', { name: 'Tenants with the most open critical and high findings' })).toBeVisible();
  await keepScreenshot(page, testInfo, 'fleet-dashboard');

  // The analytics SQL on the page sees every tenant too.
  await page.goto(`${server.baseUrl}/analytics`);
  await page.getByLabel('One read-only DuckDB statement over the tables below').fill('SELECT count(DISTINCT tenant) AS tenants FROM all_findings');
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page.locator('[data-sql-rows] tbody')).toHaveText(String(TENANTS));
});
