import { expect, test, type Page } from '@playwright/test';
import { demoLogin, rowNamed, SAMPLE_CONTEXTS, SAMPLE_TENANTS } from './support.ts';

async function signInThroughForm(page: Page, username: string, password = demoLogin(username).password): Promise<void> {
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

function mainNavigation(page: Page) {
  return page.getByRole('navigation', { name: 'Main' });
}

test.describe('sign-in', () => {
  test('the dashboard asks for sign-in first, and an admin lands on it with every context and the admin pages', async ({ page }) => {
    await page.goto('/');
    await expect(page).toHaveURL(/\/login\?next=%2F$/);
    await signInThroughForm(page, 'admin');

    await expect(page).toHaveURL('/');
    await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
    await expect(page.getByText('Signed in as admin, role admin')).toBeAttached();
    for (const link of ['Dashboard', 'Cross-tenant', 'Admin data', 'Contexts', 'Analytics', 'Users', 'Audit']) {
      await expect(mainNavigation(page).getByRole('link', { name: link, exact: true })).toBeVisible();
    }
    const contexts = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Composite' }) });
    await expect(contexts.locator('tbody').getByRole('row')).toHaveCount(SAMPLE_CONTEXTS.length);
    for (const name of SAMPLE_CONTEXTS) await expect(rowNamed(contexts, name)).toContainText('fresh');
    await expect(page.getByRole('img', { name: 'Findings by severity over time' })).toBeVisible();
    // The fleet charts come from the analytics, which count every tenant.
    await expect(page.locator('[data-fleet-freshness]')).toContainText(`${SAMPLE_TENANTS.length} tenants`);
    const chart = 'Tenants with the most open critical and high findings';
    await expect(page.getByRole('img', { name: chart })).toBeVisible();
    const byTenant = page.getByRole('figure', { name: chart });
    await byTenant.getByText('Data table').click();
    for (const tenant of SAMPLE_TENANTS) await expect(byTenant.getByRole('rowheader', { name: tenant, exact: true })).toBeVisible();
  });

  test('an operator lands on the dashboard with the contexts page but no user management', async ({ page }) => {
    await page.goto('/login');
    await signInThroughForm(page, 'operator');

    await expect(page).toHaveURL('/');
    await expect(page.getByText('Signed in as operator, role operator')).toBeAttached();
    await expect(mainNavigation(page).getByRole('link', { name: 'Contexts', exact: true })).toBeVisible();
    await expect(mainNavigation(page).getByRole('link', { name: 'Users', exact: true })).toHaveCount(0);
    await expect(mainNavigation(page).getByRole('link', { name: 'Audit', exact: true })).toHaveCount(0);
    await expect(page.getByRole('heading', { name: 'Latest health problems' })).toBeVisible();
  });

  test("a tenant user lands on their tenant's findings with facets and a chart over time", async ({ page }) => {
    await page.goto('/login');
    await signInThroughForm(page, 'acme-user');

    await expect(page).toHaveURL('/tenants/acme');
    await expect(page.getByRole('heading', { level: 1, name: 'Evidence of acme' })).toBeVisible();
    expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
    await expect(page.getByRole('img', { name: 'Findings by severity over time' })).toBeVisible();
    for (const facet of ['severity', 'status', 'source']) {
      const region = page.getByRole('region', { name: facet, exact: true });
      await expect(region.getByRole('link').first()).toBeVisible();
    }
    await expect(page.getByRole('region', { name: 'severity', exact: true }).getByRole('link', { name: 'high', exact: true })).toBeVisible();
    await expect(page.getByRole('region', { name: 'source', exact: true }).getByRole('link', { name: 'fleetfolio', exact: true })).toBeVisible();
    await expect(mainNavigation(page).getByRole('link', { name: 'Tenant acme', exact: true })).toBeVisible();
    await expect(mainNavigation(page).getByRole('link', { name: 'Contexts', exact: true })).toHaveCount(0);
  });

  test('signing in from a deep link returns to it', async ({ page }) => {
    await page.goto('/admin/audit');
    await expect(page).toHaveURL(/\/login\?next=/);
    await signInThroughForm(page, 'admin');
    await expect(page).toHaveURL('/admin/audit');
    await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  });

  test('a wrong password is refused with a message and no session', async ({ page }) => {
    await page.goto('/login');
    await signInThroughForm(page, 'operator', 'not-the-password');

    await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');
    await expect(page.getByLabel('User name')).toHaveValue('operator');
    await page.goto('/');
    await expect(page).toHaveURL(/\/login/);
  });

  test('signing out ends the session', async ({ page }) => {
    await page.goto('/login');
    await signInThroughForm(page, 'admin');
    await expect(page).toHaveURL('/');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL('/login');
    await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
    await page.goto('/admin/contexts');
    await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Fcontexts$/);
    expect((await page.request.get('/api/me')).status()).toBe(401);
  });
});
