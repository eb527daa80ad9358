import { expect, test } from '@playwright/test';
import { signInPage } from './support.ts';

const OTHER_TENANT_PAGES = ['/tenants/globex', '/tenants/globex/objects', '/tenants/globex/objects/all_findings', '/tenants/%67lobex/objects', '/admin/contexts/tenant/globex'];
const OTHER_TENANT_API = [
  '/api/tenants/globex/objects',
  '/api/tenants/globex/objects/all_findings/rows',
  '/api/tenants/globex/objects/all_findings/rows.csv',
  '/api/tenants/acme%2f..%2fglobex/objects',
  '/api/admin/contexts/tenant/globex',
];

test.describe('tenant isolation', () => {
  test.beforeEach(async ({ page }) => {
    await signInPage(page, 'acme-user');
  });

  test("a tenant user reaches their own tenant's pages", async ({ page }) => {
    const response = await page.goto('/tenants/acme/objects/all_findings');
    expect(response?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1, name: 'all_findings' })).toBeVisible();
  });

  for (const url of OTHER_TENANT_PAGES) {
    test(`another tenant's page ${url} answers with the not-found page`, async ({ page }) => {
      const response = await page.goto(url);
      expect(response?.status()).toBe(404);
      await expect(page.getByRole('heading', { level: 1, name: /not found/i })).toBeVisible();
      await expect(page.getByText('globex', { exact: false })).toHaveCount(0);
    });
  }

  test('another tenant looks exactly like a tenant that does not exist', async ({ page }) => {
    const other = await page.goto('/tenants/globex/objects');
    const otherBody = await other!.text();
    const unknown = await page.goto('/tenants/no-such-tenant/objects');
    expect(unknown?.status()).toBe(404);
    expect(otherBody).toBe(await unknown!.text());
  });

  test("the API gives a tenant user their own tenant's rows", async ({ page }) => {
    const response = await page.request.get('/api/tenants/acme/objects/all_findings/rows?_size=1');
    expect(response.status()).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true });
  });

  for (const url of OTHER_TENANT_API) {
    test(`the API answers 404 for another tenant's ${url}`, async ({ page }) => {
      const response = await page.request.get(url);
      expect(response.status()).toBe(404);
      const body = await response.json();
      expect(body).toMatchObject({ ok: false, error: { code: 'not_found' } });
      expect(JSON.stringify(body)).not.toContain('globex');
    });
  }
});
