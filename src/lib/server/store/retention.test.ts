import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConsoleStore, type ConsoleStore } from './database.ts';
import { pruneHistory } from './retention.ts';
import { recordRegeneration, regenerationHistory } from './regenerations.ts';
import { recordSlowQuery, slowestSince } from './slow-queries.ts';
import { healthHistory, recordHealthRun } from './health-runs.ts';

let stateDir: string;
let db: ConsoleStore;
const now = new Date('2026-06-30T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-retention-'));
  db = openConsoleStore(stateDir);
});
afterEach(() => {
  db.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

function regeneration(context: string, finishedAt: string): void {
  recordRegeneration(db, { context, startedAt: new Date(finishedAt), finishedAt: new Date(finishedAt), outcome: 'ok', sourceSha256: null, problems: [], actor: 'cli' });
}

describe('pruning history', () => {
  it('drops regenerations past the count or the age, but keeps the newest of each context however old', async () => {
    for (let day = 1; day <= 5; day++) regeneration('tenant/a', daysAgo(day));
    regeneration('tenant/old', daysAgo(400));
    regeneration('tenant/old', daysAgo(500));
    const counts = await pruneHistory(db, { historyDays: 90, historyPerContext: 3, slowQueryKeep: 100 }, now);
    expect(counts.regenerations).toBe(3);
    expect(regenerationHistory(db, 'tenant/a', 10).map((r) => r.finishedAt)).toEqual([daysAgo(1), daysAgo(2), daysAgo(3)]);
    expect(regenerationHistory(db, 'tenant/old', 10).map((r) => r.finishedAt)).toEqual([daysAgo(400)]);
  });

  it('keeps the newest slow queries within the age limit, and removes expired sessions', async () => {
    for (let i = 0; i < 5; i++) recordSlowQuery(db, { at: new Date(daysAgo(i)), context: 'admin', kind: 'page', durationMs: 600 + i, sql: 'SELECT 1', rows: 1, actor: null });
    recordSlowQuery(db, { at: new Date(daysAgo(200)), context: 'admin', kind: 'page', durationMs: 9000, sql: 'SELECT 1', rows: 1, actor: null });
    db.prepare("INSERT INTO users (id, username, password_hash, role, created_at, updated_at) VALUES ('u', 'u', 'x', 'admin', 'now', 'now')").run();
    db.prepare("INSERT INTO sessions (id, user_id, expires_at) VALUES ('gone', 'u', ?), ('live', 'u', ?)").run(now.getTime() / 1000 - 1, now.getTime() / 1000 + 3600);
    const counts = await pruneHistory(db, { historyDays: 90, historyPerContext: 3, slowQueryKeep: 3 }, now);
    expect(counts).toMatchObject({ slowQueries: 3, sessions: 1 });
    expect(slowestSince(db, new Date(0), 10).map((q) => q.durationMs)).toEqual([602, 601, 600]);
    expect(db.prepare('SELECT id FROM sessions').all()).toEqual([{ id: 'live' }]);
  });

  it('removes a long history in batches, letting the server serve between them', async () => {
    db.transaction(() => {
      for (let hour = 0; hour < 600; hour++) recordHealthRun(db, { context: 'tenant/a', status: 'fresh', worstSeverity: 'ok', full: false, report: {}, at: new Date(now.getTime() - hour * 3_600_000) });
    })();
    let turns = 0;
    const counts = await pruneHistory(db, { historyDays: 90, historyPerContext: 3, slowQueryKeep: 100 }, now, async () => {
      turns += 1;
    });
    expect(counts.healthRuns).toBe(597);
    expect(turns).toBeGreaterThan(1);
    expect(healthHistory(db, 'tenant/a', 10).map((run) => run.at)).toEqual([0, 1, 2].map((hour) => new Date(now.getTime() - hour * 3_600_000).toISOString()));
  });
});
