import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type APIRequestContext, type Locator, type Page, type PlaywrightWorkerArgs, type TestInfo } from '@playwright/test';
import { demoLogins, type DemoLogin } from '../src/lib/server/services/demo.ts';

/** The tenants of the sample volume the browser tests are served from. */
export const SAMPLE_TENANTS = ['acme', 'globex', 'initech'];
export const SAMPLE_CONTEXTS = ['admin', 'cross-tenant', ...SAMPLE_TENANTS.map((id) => `tenant/${id}`)];

const logins = new Map(demoLogins(SAMPLE_TENANTS).map((login) => [login.username, login]));

export function demoLogin(username: string): DemoLogin {
  const login = logins.get(username);
  if (!login) throw new Error(`no demo login named ${username}`);
  return login;
}

function baseUrl(): string {
  const url = test.info().project.use.baseURL;
  if (!url) throw new Error('playwright.config.ts sets no baseURL');
  return url;
}

/** State-changing requests must carry the console's own Origin, as a page of it would. */
export function originHeader(): Record<string, string> {
  return { origin: baseUrl() };
}

async function signInWith(request: APIRequestContext, username: string): Promise<void> {
  const { password } = demoLogin(username);
  const response = await request.post('/api/login', { data: { username, password }, headers: originHeader() });
  expect(response.status(), `sign-in of ${username}: ${await response.text()}`).toBe(200);
}

/**
 * Signs the page's browser context in through the JSON API (the cookie jar is shared), for
 * tests about something other than the sign-in form itself.
 */
export async function signInPage(page: Page, username: string): Promise<void> {
  await signInWith(page.request, username);
}

/** An API client signed in as the admin, for set-up and clean-up outside a test's page. */
export async function adminApi(playwright: PlaywrightWorkerArgs['playwright']): Promise<APIRequestContext> {
  const request = await playwright.request.newContext({ baseURL: baseUrl() });
  await signInWith(request, 'admin');
  return request;
}

/** Calls one of the admin context actions (`regenerate`, `health`) and expects it to succeed. */
export async function runContextAction(request: APIRequestContext, context: string, action: 'regenerate' | 'health'): Promise<void> {
  const response = await request.post(`/api/admin/contexts/${context}/${action}`, { headers: originHeader() });
  expect(response.ok(), `${action} of ${context}: ${await response.text()}`).toBe(true);
}

/** The table row whose row header is exactly `name`. */
export function rowNamed(scope: Page | Locator, name: string): Locator {
  // The inner locator of `has` is matched inside each row, so it must start from the page.
  const page = 'mouse' in scope ? scope : scope.page();
  return scope.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
}

/** The cell of `row` under the column header `column` of `table`. */
export async function cellInColumn(table: Locator, row: Locator, column: string): Promise<Locator> {
  const headers = (await table.getByRole('columnheader').allInnerTexts()).map((text) => text.trim());
  const index = headers.indexOf(column);
  expect(index, `column "${column}" among ${headers.join(', ')}`).toBeGreaterThanOrEqual(0);
  return row.locator(':scope > th, :scope > td').nth(index);
}

/** Kept between runs (outside Playwright's per-run output folder) so people can look at them. */
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../test-results/screenshots');

/** A full-page screenshot saved as `test-results/screenshots/<name>.png` and attached to the test's report. */
export async function keepScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

/** Parses RFC 4180 CSV: quoted fields may hold commas, quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
