import { expect, test, type Page } from '@playwright/test';
import { demoLogin } from './support.ts';

async function signInThroughForm(page: Page, username: string): Promise<void> {
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(demoLogin(username).password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test.describe('sign-in never leads off the console', () => {
  // Each normalises, in the browser, to a path starting with `//`: another site.
  for (const next of ['/.//evil.example/x', '/..//evil.example', '/a/..//evil.example', '/%2e//evil.example', '/a/%2E%2E//evil.example']) {
    test(`next=${next} lands on the dashboard`, async ({ page, baseURL }) => {
      await page.goto(`/login?next=${encodeURIComponent(next)}`);
      await signInThroughForm(page, 'operator');
      await expect(page).toHaveURL(`${baseURL}/`);
      await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
    });
  }
});
