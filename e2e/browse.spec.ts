import fs from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { parseCsv, signInPage } from './support.ts';

function rowsTable(page: Page) {
  return page.getByRole('table', { name: /^Rows of all_findings/ });
}

/** The data columns as the table heads them (without the row-detail column and sort arrows). */
async function shownColumns(page: Page): Promise<string[]> {
  const headers = await rowsTable(page).getByRole('columnheader').allInnerTexts();
  return headers.slice(1).map((text) => text.replace(/[▲▼]/g, '').trim());
}

/** Every shown row as `column → text`. */
async function shownRows(page: Page): Promise<Array<Record<string, string>>> {
  const columns = await shownColumns(page);
  const rows = rowsTable(page).locator('tbody').getByRole('row');
  const result: Array<Record<string, string>> = [];
  for (const row of await rows.all()) {
    const cells = (await row.getByRole('cell').allInnerTexts()).slice(1).map((text) => text.trim());
    result.push(Object.fromEntries(columns.map((column, index) => [column, cells[index]!])));
  }
  return result;
}

const keyOf = (row: Record<string, string>) => `${row.source}:${row.id}`;

test.describe('browse all_findings', () => {
  test('filter, sort, next and previous page, and a CSV export of exactly the filtered rows', async ({ page }) => {
    await signInPage(page, 'acme-user');
    await page.goto('/tenants/acme/objects');
    await page.getByRole('link', { name: 'all_findings', exact: true }).click();
    await expect(page).toHaveURL('/tenants/acme/objects/all_findings');
    await expect(page.getByRole('heading', { level: 1, name: 'all_findings' })).toBeVisible();
    expect(new Set((await shownRows(page)).map((row) => row.severity)).size).toBeGreaterThan(1);

    // Filter: severity = high, through the form.
    const addFilter = page.getByRole('form', { name: 'Add a filter' });
    await addFilter.getByLabel('Column').selectOption('severity');
    await addFilter.getByLabel('Operator').selectOption('exact');
    await addFilter.getByLabel('Value').fill('high');
    await addFilter.getByRole('button', { name: 'Add filter' }).click();
    await expect(page).toHaveURL(/[?&]severity=high(&|$)/);
    await expect(page.getByRole('list', { name: 'Active filters' }).getByRole('listitem')).toHaveText([/severity high/]);
    const total = Number((await page.getByText(/^\s*\d[\d,]* rows?\s*$/).innerText()).replace(/\D/g, ''));
    expect(total).toBeGreaterThan(25);

    // Sort by created_at, ascending then descending, by its column header.
    const createdAt = rowsTable(page).getByRole('columnheader', { name: /created_at/ });
    await createdAt.getByRole('link').click();
    await expect(rowsTable(page).getByRole('columnheader', { name: /created_at/ })).toHaveAttribute('aria-sort', 'ascending');
    await rowsTable(page).getByRole('columnheader', { name: /created_at/ }).getByRole('link').click();
    await expect(rowsTable(page).getByRole('columnheader', { name: /created_at/ })).toHaveAttribute('aria-sort', 'descending');
    await expect(page).toHaveURL(/_sort=created_at/);
    await expect(page).toHaveURL(/_desc=1/);

    // 25 rows a page, so the filtered rows span two pages.
    await page.getByLabel('Rows per page').selectOption('25');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page).toHaveURL(/_size=25/);
    const pages = page.getByRole('navigation', { name: 'Pages' });
    await expect(pages.getByRole('link', { name: /Previous/ })).toHaveCount(0);

    const firstPage = await shownRows(page);
    expect(firstPage).toHaveLength(25);
    expect(firstPage.every((row) => row.severity === 'high')).toBe(true);
    const firstCreated = firstPage.map((row) => row.created_at);
    expect(firstCreated).toEqual([...firstCreated].sort().reverse());

    await pages.getByRole('link', { name: /Next/ }).click();
    await expect(page).toHaveURL(/_cursor=/);
    const secondPage = await shownRows(page);
    expect(secondPage).toHaveLength(Math.min(25, total - 25));
    expect(secondPage.every((row) => row.severity === 'high')).toBe(true);
    const firstKeys = new Set(firstPage.map(keyOf));
    expect(secondPage.filter((row) => firstKeys.has(keyOf(row)))).toEqual([]);
    expect(secondPage[0]!.created_at <= firstPage.at(-1)!.created_at).toBe(true);

    await pages.getByRole('link', { name: /Previous/ }).click();
    expect((await shownRows(page)).map(keyOf)).toEqual(firstPage.map(keyOf));

    // The export holds every filtered row (not one page) in the same order, with the same columns.
    const downloading = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export CSV' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const [header, ...records] = parseCsv(fs.readFileSync(await download.path(), 'utf8'));
    const columns = await shownColumns(page);
    expect(header).toEqual(columns);
    expect(records).toHaveLength(total);
    const severity = columns.indexOf('severity');
    expect(records.filter((record) => record[severity] !== 'high')).toEqual([]);
    const created = columns.indexOf('created_at');
    const exported = records.map((record) => record[created]!);
    expect(exported).toEqual([...exported].sort().reverse());
    expect(records.slice(0, 25).map((record) => `${record[columns.indexOf('source')]}:${record[columns.indexOf('id')]}`)).toEqual(firstPage.map(keyOf));
  });
});
