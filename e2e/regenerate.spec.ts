import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { adminApi, cellInColumn, keepScreenshot, rowNamed, runContextAction, signInPage } from './support.ts';
import { E2E_VOLUME } from './volume.ts';

function contextsTable(page: Page) {
  return page.getByRole('table', { name: 'Contexts of the volume with composite status and actions' });
}

/** The "Generated" text of a context's row, e.g. `2025-11-22 10:52:01 UTC`. */
async function generatedText(page: Page, context: string): Promise<string> {
  const table = contextsTable(page);
  return (await (await cellInColumn(table, rowNamed(table, context), 'Generated')).innerText()).trim();
}

/** Times are shown to the second: waits until a new generation cannot show the same second as `shown`. */
async function waitPastShownSecond(page: Page, shown: string): Promise<void> {
  const shownUntil = Date.parse(shown.replace(' UTC', 'Z').replace(' ', 'T')) + 1000;
  if (Date.now() < shownUntil) await page.waitForTimeout(shownUntil - Date.now());
}

test.describe('regenerate from the contexts page', () => {
  test('one click regenerates a composite and the row shows the new generation time', async ({ page }) => {
    await signInPage(page, 'admin');
    await page.goto('/admin/contexts');
    const table = contextsTable(page);
    const row = rowNamed(table, 'tenant/acme');
    const before = await generatedText(page, 'tenant/acme');
    expect(before).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await waitPastShownSecond(page, before);

    await row.getByRole('button', { name: 'Regenerate tenant/acme', exact: true }).click();

    const result = await cellInColumn(table, rowNamed(table, 'tenant/acme'), 'Result');
    await expect(result).toContainText(/Regenerated at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\./);
    const after = await generatedText(page, 'tenant/acme');
    expect(after).not.toBe(before);
    expect(after > before, `${after} is later than ${before}`).toBe(true);
    await expect(result).toContainText(`Regenerated at ${after}.`);
    await expect(rowNamed(table, 'tenant/acme')).toContainText('fresh');

    // The page, loaded anew, agrees: the change was made on the server, not only in the row.
    await page.reload();
    expect(await generatedText(page, 'tenant/acme')).toBe(after);
  });
});

test.describe('regenerate with an invalid composite.sql', () => {
  const compositeSql = path.join(E2E_VOLUME, 'embedded/tenant/initech/composite.sql');
  let original: string;

  test.beforeAll(() => {
    original = fs.readFileSync(compositeSql, 'utf8');
  });

  test.afterAll(async ({ playwright }) => {
    fs.writeFileSync(compositeSql, original);
    // A successful regeneration clears the failed attempt from the contexts page for the tests that follow.
    const api = await adminApi(playwright);
    await runContextAction(api, 'tenant/initech', 'regenerate');
    await api.dispose();
  });

  test('shows the error at file:line:column in the row while the old composite keeps serving', async ({ page }, testInfo) => {
    await signInPage(page, 'admin');
    await page.goto('/tenants/initech');
    expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
    const findingsBefore = await page.getByText(/\d+ findings ·/).innerText();
    expect(findingsBefore).not.toMatch(/^\s*0 findings/);

    const broken = `${original.trimEnd()}\n\nDETACH DATABASE fleetfolio;\n`;
    fs.writeFileSync(compositeSql, broken);
    const brokenLine = broken.split('\n').indexOf('DETACH DATABASE fleetfolio;') + 1;

    await page.goto('/admin/contexts');
    const table = contextsTable(page);
    await expect(rowNamed(table, 'tenant/initech')).toContainText('stale');
    await rowNamed(table, 'tenant/initech').getByRole('button', { name: 'Regenerate tenant/initech', exact: true }).click();

    const result = await cellInColumn(table, rowNamed(table, 'tenant/initech'), 'Result');
    await expect(result).toContainText('the previous composite keeps serving');
    await expect(result).toContainText(`embedded/tenant/initech/composite.sql:${brokenLine}:1:`);
    await expect(result.getByRole('listitem')).toHaveCount(1);
    await keepScreenshot(page, testInfo, 'contexts-regeneration-error');

    // The failure stays visible after a reload, and the old composite still answers.
    await page.reload();
    await expect(await cellInColumn(table, rowNamed(table, 'tenant/initech'), 'Result')).toContainText(`embedded/tenant/initech/composite.sql:${brokenLine}:1:`);
    await page.goto('/tenants/initech');
    await expect(page.getByRole('heading', { level: 1, name: 'Evidence of initech' })).toBeVisible();
    expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
    await expect(page.getByText(/\d+ findings ·/)).toHaveText(findingsBefore);
    await expect(page.getByRole('region', { name: 'source', exact: true }).getByRole('link', { name: 'fleetfolio', exact: true })).toBeVisible();
  });
});

test.describe('regenerate all stale', () => {
  const STALE = ['tenant/acme', 'tenant/globex'];
  const sources = new Map(STALE.map((context) => [context, path.join(E2E_VOLUME, 'embedded', context, 'composite.sql')]));
  const originals = new Map<string, string>();

  test.beforeAll(() => {
    for (const [context, file] of sources) originals.set(context, fs.readFileSync(file, 'utf8'));
  });

  test.afterAll(async ({ playwright }) => {
    const api = await adminApi(playwright);
    for (const [context, file] of sources) {
      fs.writeFileSync(file, originals.get(context)!);
      await runContextAction(api, context, 'regenerate');
    }
    await api.dispose();
  });

  test('regenerates every stale composite with visible progress and leaves the others alone', async ({ page }) => {
    // A changed comment is enough: composite.sql no longer matches what the composite was built from.
    for (const [context, file] of sources) fs.writeFileSync(file, `${originals.get(context)}\n-- reviewed\n`);
    await signInPage(page, 'admin');
    await page.goto('/admin/contexts');
    const table = contextsTable(page);
    for (const context of STALE) await expect(rowNamed(table, context)).toContainText('stale');
    const untouched = await generatedText(page, 'tenant/initech');
    const before = new Map<string, string>();
    for (const context of STALE) before.set(context, await generatedText(page, context));
    for (const shown of before.values()) await waitPastShownSecond(page, shown);
    await expect(page.getByText(`${STALE.length} stale or missing`)).toBeVisible();

    await page.getByRole('button', { name: 'Regenerate all stale' }).click();

    // Each regeneration runs off the event loop; on a busy machine two can take more than the default 5 s.
    await expect(page.getByRole('status')).toContainText(`Regenerated ${STALE.length} of ${STALE.length}.`, { timeout: 30_000 });
    for (const context of STALE) {
      await expect(rowNamed(table, context)).toContainText('fresh');
      expect(await generatedText(page, context)).not.toBe(before.get(context));
    }
    expect(await generatedText(page, 'tenant/initech')).toBe(untouched);
    await expect(page.getByRole('button', { name: 'Regenerate all stale' })).toBeDisabled();
  });
});

test.describe('the contexts page without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test("a row's button posts the list's form for its own context, and that row shows the result", async ({ page }) => {
    await signInPage(page, 'admin');
    await page.goto('/admin/contexts');
    const table = contextsTable(page);
    await rowNamed(table, 'tenant/acme').getByRole('button', { name: 'Run health check on tenant/acme', exact: true }).click();

    await expect(page).toHaveURL('/admin/contexts');
    await expect(await cellInColumn(table, rowNamed(table, 'tenant/acme'), 'Result')).toHaveText(/Health: (ok|warn)\./);
    await expect(await cellInColumn(table, rowNamed(table, 'tenant/globex'), 'Result')).toHaveText('');
    await expect(await cellInColumn(table, rowNamed(table, 'tenant/acme'), 'Last health')).toHaveText(/^\s*(ok|warn) · \d{4}-\d\d-\d\d/);
  });
});
