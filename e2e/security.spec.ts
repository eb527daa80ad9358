import { expect, test, type Page } from '@playwright/test';
import { demoLogin, rowNamed } from './support.ts';

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

/** Records every Content Security Policy violation the page reports, from before its first script runs. */
async function watchPolicyViolations(page: Page): Promise<string[]> {
  const violations: string[] = [];
  await page.exposeFunction('reportPolicyViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { reportPolicyViolation(text: string): void }).reportPolicyViolation(`${event.violatedDirective} ${event.blockedURI} at ${location.pathname}`);
    });
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

/** How many of the page's charts have been drawn on (some pixel of their canvas is not transparent), and of how many. */
function chartsDrawn(page: Page): Promise<{ drawn: number; of: number }> {
  return page.locator('canvas[data-chart]').evaluateAll((canvases: HTMLCanvasElement[]) => ({
    of: canvases.length,
    drawn: canvases.filter((canvas) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      return data.some((value, index) => index % 4 === 3 && value > 0);
    }).length,
  }));
}

/** Waits until every chart of the page is drawn; there must be at least one. */
async function expectChartsDrawn(page: Page): Promise<void> {
  await expect.poll(async () => {
    const { drawn, of } = await chartsDrawn(page);
    return of > 0 && drawn === of;
  }).toBe(true);
}

test.describe('content security policy', () => {
  test('every main page runs under the policy with no violation, and its charts draw', async ({ page }) => {
    const violations = await watchPolicyViolations(page);
    await page.goto('/login');
    await signInThroughForm(page, 'admin');
    await expect(page).toHaveURL(/\/$/);
    await expectChartsDrawn(page);

    for (const pathname of [
      '/tenants/acme',
      '/tenants/acme/objects',
      '/tenants/acme/objects/all_findings',
      '/tenants/acme/sql',
      '/cross-tenant/objects',
      '/admin/objects',
      '/admin/contexts',
      '/admin/contexts/tenant/acme',
      '/admin/users',
      '/admin/audit',
      '/analytics',
      '/analytics/drift',
    ]) {
      const response = await page.goto(pathname);
      expect(response?.status(), pathname).toBe(200);
      expect(response?.headers()['content-security-policy'], pathname).toContain("script-src 'self'");
      await page.waitForLoadState('load');
    }
    await page.goto('/tenants/acme');
    await expectChartsDrawn(page);
    // The contexts page's buttons call the API from a script file too.
    await page.goto('/admin/contexts');
    const called = page.waitForRequest((request) => request.url().endsWith('/api/admin/contexts/tenant/acme/health'));
    await rowNamed(page, 'tenant/acme').getByRole('button', { name: 'Run health check on tenant/acme', exact: true }).click();
    await called;
    await expect(rowNamed(page, 'tenant/acme').getByText(/^Health: /)).toBeVisible();
    expect(violations).toEqual([]);
  });

  test('a script injected into a page does not run', async ({ page }) => {
    const violations = await watchPolicyViolations(page);
    await page.goto('/login');
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.body.append(script);
    });
    await expect.poll(() => violations.length).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
  });

  test('no page of the console can be framed by another site', async ({ page, baseURL }) => {
    await page.goto('/login');
    await page.setContent(`<iframe src="${baseURL}/login" title="framed"></iframe>`);
    const frame = page.frameLocator('iframe[title="framed"]');
    await expect(frame.getByLabel('User name')).toHaveCount(0);
  });
});
