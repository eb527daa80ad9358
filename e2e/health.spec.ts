import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { adminApi, cellInColumn, keepScreenshot, rowNamed, runContextAction, signInPage } from './support.ts';
import { E2E_VOLUME } from './volume.ts';

const DATABASE = 'fleetfolio.sqlite.db';
const databaseFile = path.join(E2E_VOLUME, 'embedded/tenant/globex', DATABASE);

/**
 * Overwrites every page after the first with a fixed pattern: the header still says
 * "SQLite", so only reading the b-tree pages can tell the file is damaged. The size is
 * kept, so nothing that has the file open or mapped sees it shrink.
 */
function corruptPagesAfterTheFirst(file: string): void {
  const bytes = fs.readFileSync(file);
  // The page size is the big-endian number at offset 16 of the header; 1 stands for 65536.
  const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
  expect(bytes.length).toBeGreaterThan(2 * pageSize);
  bytes.fill(0xa5, pageSize);
  fs.writeFileSync(file, bytes);
}

test.describe('health of a corrupted database', () => {
  let backup: Buffer;

  test.beforeAll(() => {
    backup = fs.readFileSync(databaseFile);
  });

  test.afterAll(async ({ playwright }) => {
    fs.writeFileSync(databaseFile, backup);
    // A passing health run makes the restored database the latest word for the pages that follow.
    const api = await adminApi(playwright);
    await runContextAction(api, 'tenant/globex', 'health');
    await api.dispose();
  });

  test('a health check reports the damaged file as an error in the row and on the context page', async ({ page }, testInfo) => {
    corruptPagesAfterTheFirst(databaseFile);
    await signInPage(page, 'operator');
    await page.goto('/admin/contexts');
    const table = page.getByRole('table', { name: 'Contexts of the volume with composite status and actions' });

    await rowNamed(table, 'tenant/globex').getByRole('button', { name: 'Run health check on tenant/globex', exact: true }).click();

    await expect(await cellInColumn(table, rowNamed(table, 'tenant/globex'), 'Result')).toHaveText('Health: error.');
    await expect(await cellInColumn(table, rowNamed(table, 'tenant/globex'), 'Last health')).toHaveText(/^\s*error · \d{4}-\d\d-\d\d/);
    // A context whose databases are intact is not dragged into it.
    await rowNamed(table, 'tenant/acme').getByRole('button', { name: 'Run health check on tenant/acme', exact: true }).click();
    await expect(await cellInColumn(table, rowNamed(table, 'tenant/acme'), 'Result')).toHaveText(/Health: (ok|warn)\./);

    await rowNamed(table, 'tenant/globex').getByRole('link', { name: 'tenant/globex', exact: true }).click();
    await expect(page).toHaveURL('/admin/contexts/tenant/globex');
    const databases = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Journal mode' }) });
    const damaged = rowNamed(databases, 'fleetfolio');
    await expect(await cellInColumn(databases, damaged, 'File')).toHaveText(DATABASE);
    await expect(await cellInColumn(databases, damaged, 'Health')).toContainText(DATABASE);
    await expect(await cellInColumn(databases, damaged, 'Health')).toContainText('restore it from a backup');
    await expect(await cellInColumn(databases, rowNamed(databases, 'qualityfolio'), 'Health')).not.toContainText('restore it from a backup');

    const history = page.getByRole('region', { name: 'Health history' });
    const latestRun = history.getByRole('listitem').first();
    await expect(latestRun).toHaveText(/^\s*error · /);
    await keepScreenshot(page, testInfo, 'context-detail-health-error');
    await expect(latestRun.getByRole('listitem').filter({ hasText: `fleetfolio: ` }).filter({ hasText: DATABASE })).not.toHaveCount(0);
  });
});
