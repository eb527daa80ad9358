import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test, type Page } from '@playwright/test';
import { keepScreenshot, signInPage as signIn } from './support.ts';
import { E2E_STATE_DIR, E2E_VOLUME } from './volume.ts';
import { recordSlowQuery } from '../src/lib/server/store/slow-queries.ts';

const CONTEXT = 'tenant/initech';
const qualityfolio = path.join(E2E_VOLUME, 'embedded', CONTEXT, 'qualityfolio.sqlite.db');

function findingTitles(): string[] {
  const db = new Database(qualityfolio, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT title FROM findings ORDER BY id').all() as Array<{ title: string }>).map((row) => row.title);
  } finally {
    db.close();
  }
}

function snapshotRows(page: Page) {
  return page.getByRole('table', { name: `Snapshots of ${CONTEXT}, newest first` }).locator('tbody tr');
}

test.describe('snapshots from the admin context page', () => {
  test('take a snapshot, verify it, and restore it after a change, which is then undone', async ({ page }, testInfo) => {
    // Each action copies or checks every database on a worker thread; a restore does four such steps and regenerates.
    test.setTimeout(120_000);
    const done = { timeout: 30_000 };
    await signIn(page, 'admin');
    await page.goto(`/admin/contexts/${CONTEXT}`);
    const section = page.getByRole('region', { name: 'Snapshots' });
    const before = await snapshotRows(page).count();

    await section.getByRole('button', { name: 'Take snapshot' }).click();
    await expect(section.getByRole('status')).toHaveText(/^Snapshot [0-9a-f-]{36} taken\.$/, done);
    await expect(snapshotRows(page)).toHaveCount(before + 1);
    const taken = snapshotRows(page).first();
    await expect(taken).toContainText('manual');
    await expect(taken).toContainText('qualityfolio.sqlite.db');
    const id = (await taken.getAttribute('data-snapshot'))!;

    await taken.getByRole('button', { name: `Verify snapshot ${id}` }).click();
    await expect(section.getByRole('status')).toHaveText('Snapshot verified: digests and integrity check pass.', done);
    await expect(page.locator(`tr[data-snapshot="${id}"]`)).toContainText('verified');

    // A writer adds a finding after the snapshot; restoring takes it away again.
    const original = findingTitles();
    const writer = new Database(qualityfolio);
    writer.prepare("INSERT INTO findings (title, severity, status, created_at, updated_at) VALUES ('written after the snapshot', 'low', 'open', '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')").run();
    writer.close();
    expect(findingTitles()).toContain('written after the snapshot');

    // The restore asks first; dismissing it changes nothing.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.locator(`tr[data-snapshot="${id}"]`).getByRole('button', { name: `Restore snapshot ${id}` }).click();
    await expect(section.getByRole('status')).toHaveText('Snapshot verified: digests and integrity check pass.');
    expect(findingTitles()).toContain('written after the snapshot');

    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain(`Restore ${CONTEXT} from this snapshot?`);
      void dialog.accept();
    });
    await page.locator(`tr[data-snapshot="${id}"]`).getByRole('button', { name: `Restore snapshot ${id}` }).click();
    await expect(section.getByRole('status')).toHaveText(/^Restored; the replaced databases were kept as snapshot [0-9a-f-]{36}\.$/, done);
    expect(findingTitles()).toEqual(original);
    const preRestore = snapshotRows(page).first();
    await expect(preRestore).toContainText('pre-restore');
    await keepScreenshot(page, testInfo, 'context-snapshots');

    // The pre-restore snapshot undoes the restore.
    const undoId = (await preRestore.getAttribute('data-snapshot'))!;
    page.once('dialog', (dialog) => void dialog.accept());
    await preRestore.getByRole('button', { name: `Restore snapshot ${undoId}` }).click();
    await expect(section.getByRole('status')).toHaveText(/^Restored;/, done);
    expect(findingTitles()).toContain('written after the snapshot');

    // The context still serves after its composite was regenerated over the restored files.
    await page.goto(`/tenants/initech`);
    await expect(page.getByRole('heading', { level: 1, name: 'Evidence of initech' })).toBeVisible();
  });
});

test.describe('the slow-query page', () => {
  test.beforeAll(() => {
    // A slow page read as the console records it: a filter and a sort no index serves.
    const store = new Database(path.join(E2E_STATE_DIR, 'console.sqlite.db'), { timeout: 5000 });
    try {
      recordSlowQuery(store, {
        context: 'tenant/acme',
        kind: 'page',
        durationMs: 812.5,
        sql: 'SELECT * FROM temp."all_findings" WHERE ("status" = ?) ORDER BY "title" ASC LIMIT ?',
        rows: 50,
        actor: 'acme-user',
      });
    } finally {
      store.close();
    }
  });

  test('lists the slowest reads with their query plan and an index suggestion', async ({ page }, testInfo) => {
    await signIn(page, 'admin');
    await page.goto('/admin');
    await page.getByRole('link', { name: 'Slow queries' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Slow queries' })).toBeVisible();
    const entry = page.locator('[data-slow-query]').filter({ hasText: '812.5 ms' });
    await expect(entry).toContainText('tenant/acme');
    await expect(entry).toContainText('acme-user');
    const plan = entry.getByRole('table', { name: 'Query plan' });
    await expect(plan).toContainText('SCAN qualityfolio.findings');
    await expect(plan).toContainText('USE TEMP B-TREE FOR ORDER BY');
    await expect(entry.getByRole('list', { name: 'Index suggestions' })).toContainText('CREATE INDEX idx_findings_status ON findings(status)');
    await keepScreenshot(page, testInfo, 'slow-queries');
  });
});
