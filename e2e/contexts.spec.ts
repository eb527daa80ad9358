import { expect, test } from '@playwright/test';

test.describe('contexts page', () => {
  test('lists every context of the volume with a fresh composite and its attachments', async ({ page }) => {
    await page.goto('/');
    const rows = page.locator('tbody tr');
    await expect(rows).toHaveCount(5);
    for (const name of ['admin', 'cross-tenant', 'tenant/acme', 'tenant/globex', 'tenant/initech']) {
      const row = page.locator(`tr[data-context="${name}"]`);
      await expect(row).toBeVisible();
      await expect(row.locator('[data-status]')).toHaveText('fresh');
    }
    await expect(page.locator('tr[data-context="tenant/acme"] td').nth(1)).toHaveText('2');
  });
});
