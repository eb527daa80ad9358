import { expect, test } from '@playwright/test';
import { signInPage } from './support.ts';

test.describe('facets, search and the SQL editor', () => {
  test('clicking a facet value narrows the page to it', async ({ page }) => {
    await signInPage(page, 'acme-user');
    await page.goto('/tenants/acme/objects/all_findings');
    await page.getByRole('form', { name: 'Add a facet' }).getByLabel('Count values of').selectOption('severity');
    await page.getByRole('button', { name: 'Add facet' }).click();
    const facet = page.locator('[data-facet="severity"]');
    await expect(facet).toBeVisible();
    const critical = facet.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'critical', exact: true }) });
    const count = Number((await critical.locator('span').innerText()).replace(/,/g, ''));
    await critical.getByRole('link', { name: 'critical', exact: true }).click();
    await expect(page).toHaveURL(/severity=critical/);
    await expect(page.locator('[data-count]')).toHaveText(`${count} rows`);
    const severities = await page.locator('table[data-rows] tbody td:nth-child(5)').allInnerTexts();
    expect(severities.length).toBeGreaterThan(0);
    expect(new Set(severities)).toEqual(new Set(['critical']));
    await expect(facet.getByRole('link', { name: 'high', exact: true })).toHaveCount(0);
  });

  test('the search box finds titles and marks the matching words', async ({ page }) => {
    await signInPage(page, 'acme-user');
    await page.goto('/tenants/acme/objects/all_findings');
    await page.getByRole('searchbox', { name: 'Search' }).fill('checkout');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await expect(page).toHaveURL(/_search=checkout/);
    const snippets = page.locator('td[data-snippet]');
    await expect(snippets.first()).toBeVisible();
    for (const mark of await page.locator('td[data-snippet] mark').allInnerTexts()) expect(mark.toLowerCase()).toBe('checkout');
    expect(await page.locator('td[data-snippet] mark').count()).toBeGreaterThanOrEqual(await snippets.count());
  });

  test('a listing saved with a name opens again from the objects page', async ({ page }) => {
    await signInPage(page, 'acme-user');
    await page.goto('/tenants/acme/objects/all_findings?severity=high&_sort=created_at&_desc=1&_facet=status');
    await page.getByText('Save this view').click();
    const form = page.locator('[data-save-view] form');
    const name = `High, newest first ${Date.now()}`;
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Description').fill('What the weekly review starts from');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(page).toHaveURL(/\/tenants\/acme\/objects\?saved=\d+#saved-views/);
    const saved = page.locator(`[data-saved-view="${name}"]`);
    await expect(saved).toContainText('What the weekly review starts from');
    await expect(saved).toContainText('private');
    await saved.getByRole('link', { name }).click();
    await expect(page).toHaveURL('/tenants/acme/objects/all_findings?severity=high&_sort=created_at&_desc=1&_facet=status');
    await expect(page.locator('[data-facet="status"]')).toBeVisible();
  });

  test('the editor completes a column name and Ctrl-Enter runs the statement', async ({ page }) => {
    await signInPage(page, 'operator');
    await page.goto('/tenants/acme/sql');
    const editor = page.locator('[data-sql-editor] .cm-content');
    await expect(editor).toBeVisible();
    await expect(page.locator('textarea[name="sql"]')).toBeHidden();
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.type('SELECT sever');
    const completion = page.locator('.cm-tooltip-autocomplete');
    await expect(completion.getByText('severity', { exact: true })).toBeVisible();
    await completion.getByText('severity', { exact: true }).click();
    await page.keyboard.type(', count(*) AS n FROM all_findings GROUP BY 1 ORDER BY 1');
    await expect(editor).toHaveText('SELECT severity, count(*) AS n FROM all_findings GROUP BY 1 ORDER BY 1');
    await page.keyboard.press('Control+Enter');
    await expect(page.locator('[data-result-summary]')).toContainText('5 rows');
    await expect(page.locator('table[data-sql-rows] thead')).toContainText('severity');
    // The statement run is offered again from this browser's recent statements.
    await expect(page.getByLabel('Recent')).toContainText('SELECT severity, count(*)');
  });
});

test.describe('the SQL page without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('is a plain textarea that runs the statement', async ({ page }) => {
    await signInPage(page, 'operator');
    await page.goto('/tenants/acme/sql');
    await expect(page.locator('[data-sql-editor]')).toHaveCount(0);
    await page.getByLabel('One SELECT, WITH or EXPLAIN statement').fill('SELECT DISTINCT status FROM all_findings ORDER BY 1');
    await page.getByRole('button', { name: 'Run' }).click();
    await expect(page.locator('[data-result-summary]')).toContainText('4 rows');
  });
});
