import { expect, test } from '@playwright/test';
import { keepScreenshot, signInPage } from './support.ts';

const SHOTS = [
  { name: 'dashboard', url: '/', user: 'admin', heading: 'Dashboard' },
  { name: 'contexts', url: '/admin/contexts', user: 'admin', heading: 'Contexts' },
  { name: 'context-detail', url: '/admin/contexts/tenant/acme', user: 'admin', heading: 'Context tenant/acme' },
  { name: 'browse-list', url: '/tenants/acme/objects', user: 'acme-user', heading: 'Tables and views of tenant/acme' },
  { name: 'browse-rows', url: '/tenants/acme/objects/all_findings?severity=high&_sort=created_at&_desc=1&_size=25', user: 'acme-user', heading: 'all_findings' },
  { name: 'tenant-landing', url: '/tenants/acme', user: 'acme-user', heading: 'Evidence of acme' },
  { name: 'analytics', url: '/analytics', user: 'admin', heading: 'Fleet analytics' },
  { name: 'schema-drift', url: '/analytics/drift', user: 'operator', heading: 'Schema drift' },
];

test.describe('screenshots', () => {
  for (const shot of SHOTS) {
    for (const scheme of ['light', 'dark'] as const) {
      test(`${shot.name} (${scheme})`, async ({ page }, testInfo) => {
        await page.emulateMedia({ colorScheme: scheme });
        await signInPage(page, shot.user);
        const response = await page.goto(shot.url);
        expect(response?.status()).toBe(200);
        await expect(page.getByRole('heading', { level: 1, name: shot.heading, exact: true })).toBeVisible();
        await page.waitForLoadState('networkidle');
        await keepScreenshot(page, testInfo, `${shot.name}-${scheme}`);
      });
    }
  }

  test('browse rows on a phone-sized screen', async ({ page }, testInfo) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signInPage(page, 'acme-user');
    await page.goto('/tenants/acme/objects/all_findings?severity=high&_sort=created_at&_desc=1&_size=25');
    await page.waitForLoadState('networkidle');
    // The table scrolls inside its frame; the page itself does not scroll sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await keepScreenshot(page, testInfo, 'browse-rows-phone');
  });
});
