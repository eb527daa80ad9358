import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { auditTrail, GENESIS_HASH, listAudit, MAX_AUDIT_PAGE, recordAudit, verifyAuditChain } from './audit.ts';
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
        prevHash: GENESIS_HASH,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
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

describe('the audit hash chain', () => {
  function recordTen(): void {
    for (let i = 1; i <= 10; i++) recordAudit(db, { actor: 'alice', action: 'composite.regenerate', target: `tenant/t${i}`, outcome: 'ok', detail: { n: i } });
  }

  it('links every event to the one before it, and an untouched trail verifies', async () => {
    recordTen();
    const trail = [...auditTrail(db)];
    expect(trail[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < trail.length; i++) expect(trail[i]!.prevHash).toBe(trail[i - 1]!.hash);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, checked: 10, brokenAt: null });
  });

  it('finds an edited event at exactly that event', async () => {
    recordTen();
    db.prepare("UPDATE audit_events SET outcome = 'error' WHERE id = 4").run();
    const report = await verifyAuditChain(db);
    expect(report.ok).toBe(false);
    expect(report.brokenAt).toEqual({ id: 4, reason: expect.stringContaining('event 4 was changed') });
  });

  it('finds a deleted event at the event that followed it', async () => {
    recordTen();
    db.prepare('DELETE FROM audit_events WHERE id = 6').run();
    expect((await verifyAuditChain(db)).brokenAt).toEqual({ id: 7, reason: expect.stringContaining('does not point back to event 5') });
  });

  it('finds two events swapped, at the first of them', async () => {
    recordTen();
    // The rows trade places: each keeps its own content and links, under the other's id.
    db.transaction(() => {
      db.prepare('UPDATE audit_events SET id = -3 WHERE id = 3').run();
      db.prepare('UPDATE audit_events SET id = 3 WHERE id = 8').run();
      db.prepare('UPDATE audit_events SET id = 8 WHERE id = -3').run();
    })();
    expect((await verifyAuditChain(db)).brokenAt).toMatchObject({ id: 3 });
  });

  it('finds an event inserted out of order, even with a correctly computed hash of its own', async () => {
    recordTen();
    db.prepare('DELETE FROM audit_events WHERE id = 5').run();
    // A forger who knows the scheme links the new row to event 3, not to event 4 before it.
    const third = [...auditTrail(db)][2]!;
    db.prepare("INSERT INTO audit_events (id, at, actor, action, target, outcome, detail, prev_hash, hash) VALUES (5, ?, 'mallory', 'user.create', 'mallory', 'ok', NULL, ?, 'x')").run(third.at, third.hash);
    expect((await verifyAuditChain(db)).brokenAt).toMatchObject({ id: 5, reason: expect.stringContaining('does not point back to event 4') });
  });

  it('keeps one chain when two connections record at once, as a server and a CLI do', async () => {
    const other = new Database(path.join(tempDir, 'console.sqlite.db'), { timeout: 5000 });
    try {
      for (let i = 0; i < 20; i++) {
        recordAudit(db, { actor: 'server', action: 'a', target: null, outcome: 'ok' });
        recordAudit(other, { actor: 'cli', action: 'b', target: null, outcome: 'ok' });
      }
    } finally {
      other.close();
    }
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, checked: 40 });
  });
});
