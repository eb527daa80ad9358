import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { signInPage } from './support.ts';

interface AuditedPage {
  name: string;
  url: string;
  /** Who looks at it; signed out when absent. */
  user?: string;
}

const PAGES: AuditedPage[] = [
  { name: 'sign-in', url: '/login' },
  { name: 'dashboard', url: '/', user: 'admin' },
  { name: 'contexts', url: '/admin/contexts', user: 'admin' },
  { name: 'context detail', url: '/admin/contexts/tenant/acme', user: 'admin' },
  { name: 'browse list', url: '/tenants/acme/objects', user: 'acme-user' },
  { name: 'browse rows', url: '/tenants/acme/objects/all_findings?severity=high&_sort=created_at&_desc=1', user: 'acme-user' },
  { name: 'browse with facets and a search', url: '/tenants/acme/objects/all_findings?_facet=severity&_facet=status&_search=checkout', user: 'acme-user' },
  { name: 'SQL editor', url: '/tenants/acme/sql', user: 'operator' },
  { name: 'tenant landing', url: '/tenants/acme', user: 'acme-user' },
  { name: 'users', url: '/admin/users', user: 'admin' },
  { name: 'audit', url: '/admin/audit', user: 'admin' },
  { name: 'analytics', url: '/analytics', user: 'admin' },
  { name: 'schema drift', url: '/analytics/drift', user: 'operator' },
  { name: 'slow queries', url: '/admin/slow-queries', user: 'admin' },
];

/**
 * Serious and critical violations, one line per rule and problem with the elements it was
 * found on, so a failure says what to fix where.
 */
async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) => {
      const byProblem = new Map<string, typeof violation.nodes>();
      for (const node of violation.nodes) {
        const problem = (node.failureSummary ?? '').replace(/\s+/g, ' ').replace(/contrast of [\d.]+ /, 'contrast ');
        byProblem.set(problem, [...(byProblem.get(problem) ?? []), node]);
      }
      return [...byProblem].map(([problem, nodes]) => {
        const targets = nodes.map((node) => node.target.join(' '));
        const shown = targets.length > 3 ? `${targets.slice(0, 3).join(', ')} and ${targets.length - 3} more` : targets.join(', ');
        return `${violation.id} (${violation.impact}) on ${shown}: ${problem} [${nodes[0]!.html.slice(0, 160)}]`;
      });
    });
}

async function open(page: Page, { url, user }: AuditedPage): Promise<void> {
  if (user) await signInPage(page, user);
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  // Charts are drawn by a script after load; audit the page as a person sees it.
  await page.waitForLoadState('networkidle');
}

test.describe('accessibility (axe)', () => {
  for (const audited of PAGES) {
    test(`${audited.name} page has no serious or critical violations`, async ({ page }) => {
      await open(page, audited);
      expect(await seriousViolations(page)).toEqual([]);
    });
  }

  for (const audited of PAGES.filter((p) => ['dashboard', 'browse rows'].includes(p.name))) {
    test(`${audited.name} page in dark mode has no serious or critical violations`, async ({ page }) => {
      await page.emulateMedia({ colorScheme: 'dark' });
      await open(page, audited);
      expect(await seriousViolations(page)).toEqual([]);
    });
  }
});
