import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit, MAX_AUDIT_PAGE, recordAudit } from './audit.ts';
import { openConsoleStore, type ConsoleStore } from './database.ts';

let tempDir: string;
let db: ConsoleStore;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-audit-'));
  db = openConsoleStore(tempDir);
});

afterEach(() => {
  db.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

describe('the audit log', () => {
  it('records who did what to what, when, and how it went', () => {
    recordAudit(db, {
      actor: 'alice',
      action: 'user.disable',
      target: 'bob',
      outcome: 'ok',
      detail: { reason: 'left the team', sessionsEnded: 2 },
      at: new Date('2025-05-01T12:00:00Z'),
    });
    expect(listAudit(db, { limit: 10 })).toEqual([
      {
        id: 1,
        at: '2025-05-01T12:00:00.000Z',
        actor: 'alice',
        action: 'user.disable',
        target: 'bob',
        outcome: 'ok',
        detail: { reason: 'left the team', sessionsEnded: 2 },
      },
    ]);
  });

  it('keeps events without detail or target', () => {
    recordAudit(db, { actor: 'system', action: 'sessions.expire', target: null, outcome: 'ok' });
    expect(listAudit(db, { limit: 1 })[0]).toMatchObject({ actor: 'system', target: null, detail: null });
  });

  it('pages newest first, continuing before the last id shown', () => {
    for (let i = 1; i <= 5; i++) recordAudit(db, { actor: 'cli', action: 'composite.regenerate', target: `tenant/t${i}`, outcome: i === 3 ? 'error' : 'ok' });
    const first = listAudit(db, { limit: 2 });
    expect(first.map((event) => event.target)).toEqual(['tenant/t5', 'tenant/t4']);
    const second = listAudit(db, { limit: 2, before: first.at(-1)!.id });
    expect(second.map((event) => event.target)).toEqual(['tenant/t3', 'tenant/t2']);
    expect(second[0]!.outcome).toBe('error');
  });

  it('bounds the page size whatever is asked for', () => {
    db.transaction(() => {
      for (let i = 0; i < MAX_AUDIT_PAGE + 5; i++) recordAudit(db, { actor: 'cli', action: 'user.create', target: `u${i}`, outcome: 'ok' });
    })();
    expect(listAudit(db, { limit: 0 })).toHaveLength(1);
    expect(listAudit(db, { limit: 1_000_000 })).toHaveLength(MAX_AUDIT_PAGE);
    expect(listAudit(db, { limit: Number.NaN })).toHaveLength(MAX_AUDIT_PAGE);
  });

  it('accepts only the outcomes ok, error and denied', () => {
    expect(() => recordAudit(db, { actor: 'cli', action: 'user.create', target: 'x', outcome: 'maybe' as 'ok' })).toThrow(/CHECK/);
    recordAudit(db, { actor: 'mallory', action: 'composite.regenerate', target: 'admin', outcome: 'denied' });
    expect(listAudit(db, { limit: 5 })[0]!.outcome).toBe('denied');
  });
});
