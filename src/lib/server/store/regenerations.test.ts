import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from './database.ts';
import { latestRegeneration, latestRegenerations, recordRegeneration, regenerationHistory, type NewRegeneration } from './regenerations.ts';

let tempDir: string;
let db: ConsoleStore;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-regenerations-'));
  db = openConsoleStore(tempDir);
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

function regeneration(context: string, finishedAt: string, overrides: Partial<NewRegeneration> = {}): NewRegeneration {
  const finished = new Date(finishedAt);
  return {
    context,
    startedAt: new Date(finished.getTime() - 1500),
    finishedAt: finished,
    outcome: 'ok',
    sourceSha256: 'a'.repeat(64),
    problems: [],
    actor: 'cli',
    ...overrides,
  };
}

describe('regeneration records', () => {
  it('come back with their problems at file:line:column', () => {
    const problems = [{ file: 'embedded/tenant/acme/composite.sql', line: 3, column: 8, message: 'ATTACH path leaves the context folder' }];
    recordRegeneration(db, regeneration('tenant/acme', '2025-03-01T10:00:00Z', { outcome: 'error', problems, actor: 'alice' }));
    const latest = latestRegeneration(db, 'tenant/acme');
    expect(latest).toMatchObject({
      context: 'tenant/acme',
      outcome: 'error',
      problems,
      actor: 'alice',
      startedAt: '2025-03-01T09:59:58.500Z',
      finishedAt: '2025-03-01T10:00:00.000Z',
    });
  });

  it('report the most recent regeneration of a context, and none for a context never regenerated', () => {
    recordRegeneration(db, regeneration('admin', '2025-03-02T10:00:00Z', { outcome: 'error' }));
    recordRegeneration(db, regeneration('admin', '2025-03-03T10:00:00Z'));
    recordRegeneration(db, regeneration('admin', '2025-03-01T10:00:00Z', { outcome: 'error' }));
    expect(latestRegeneration(db, 'admin')).toMatchObject({ finishedAt: '2025-03-03T10:00:00.000Z', outcome: 'ok' });
    expect(latestRegeneration(db, 'cross-tenant')).toBeNull();
  });

  it('give the latest regeneration of every context at once', () => {
    recordRegeneration(db, regeneration('admin', '2025-03-01T10:00:00Z'));
    recordRegeneration(db, regeneration('tenant/acme', '2025-03-01T11:00:00Z', { outcome: 'error' }));
    recordRegeneration(db, regeneration('tenant/acme', '2025-03-01T12:00:00Z'));
    const latest = latestRegenerations(db);
    expect([...latest.keys()]).toEqual(['admin', 'tenant/acme']);
    expect(latest.get('tenant/acme')).toMatchObject({ finishedAt: '2025-03-01T12:00:00.000Z', outcome: 'ok' });
  });

  it('list a context history newest first, up to the limit', () => {
    for (const day of ['01', '02', '03', '04']) recordRegeneration(db, regeneration('admin', `2025-03-${day}T10:00:00Z`));
    recordRegeneration(db, regeneration('cross-tenant', '2025-03-05T10:00:00Z'));
    const history = regenerationHistory(db, 'admin', 3);
    expect(history.map((record) => record.finishedAt.slice(0, 10))).toEqual(['2025-03-04', '2025-03-03', '2025-03-02']);
  });
});
