import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { resolveContext, type VolumeContext } from '../volume/contexts.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { runHealthCheck } from '../services/operations.ts';
import { loadSettings } from '../core/config.ts';
import { contextQuotaUsage, LIST_SIZES_MAX_AGE_MS, measureContext, quotaLimitsFor, quotaSeverity, quotaUsage, type QuotaLimits } from './quotas.ts';

let fixture: VolumeFixture;
let context: VolumeContext;
let stateDir: string;
let store: ConsoleStore;

beforeEach(() => {
  fixture = createVolumeFixture();
  context = resolveContext(fixture.volumeDir, tenantWithFindings(fixture, 'acme'));
  expect(regenerateComposite(context).ok).toBe(true);
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-quota-state-'));
  store = openConsoleStore(stateDir);
});

afterEach(() => {
  store.close();
  fixture.remove();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

/** Limits that put the context's largest database at `share` of its quota, and the rest far below theirs. */
function limitsAt(share: number): QuotaLimits {
  const largest = Math.max(...measureContext(context).databases.map((d) => d.bytes));
  return { databaseBytes: Math.round(largest / share), contextBytes: 1e12, databases: 1000, walBytes: 1e12 };
}

function digests(): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(context.dir).filter((n) => n.endsWith('.sqlite.db')).map((n) => [n, crypto.createHash('sha256').update(fs.readFileSync(path.join(context.dir, n))).digest('hex')]));
}

describe('quota states', () => {
  it.each([
    [0.79, 'ok'],
    [0.81, 'warn'],
    [1.01, 'error'],
  ])('at %s of the largest-database quota the state is %s, in health too, and no database is touched', (share, expected) => {
    const usage = quotaUsage(measureContext(context), limitsAt(share));
    expect(usage[0]).toMatchObject({ quota: 'database', file: expect.stringMatching(/\.sqlite\.db$/), severity: expected });
    expect(usage[0]!.share).toBeCloseTo(share, 2);

    const before = digests();
    const report = runHealthCheck({ volumeDir: fixture.volumeDir, store, actor: 'test', quotaLimits: () => limitsAt(share) }, context.name);
    const finding = report.findings.find((f) => f.check === 'quota_database')!;
    expect(finding.severity).toBe(expected);
    expect(finding.message).toMatch(new RegExp(`^largest database ${Math.round(share * 100)}% of quota`));
    expect(report.worstSeverity).toBe(expected);
    expect(digests()).toEqual(before);
  });

  it('warns from 80% and fails only above 100%', () => {
    expect([0.799, 0.8, 1, 1.0001].map(quotaSeverity)).toEqual(['ok', 'warn', 'warn', 'error']);
  });

  it('counts databases and totals their write-ahead logs with them', () => {
    const usage = quotaUsage({ databases: [{ file: 'a.sqlite.db', bytes: 100, walBytes: 50 }, { file: 'b.sqlite.db', bytes: 10, walBytes: 80 }] }, { databaseBytes: 1000, contextBytes: 300, databases: 2, walBytes: 100 });
    expect(usage.map((u) => [u.quota, u.used, u.severity, u.file])).toEqual([
      ['database', 100, 'ok', 'a.sqlite.db'],
      ['context', 240, 'warn', null],
      ['databases', 2, 'warn', null],
      ['wal', 80, 'warn', 'b.sqlite.db'],
    ]);
  });
});

describe('quotas shown in lists', () => {
  const settings = loadSettings({});
  const contextBytes = (now: number) => contextQuotaUsage(settings, context, now).find((u) => u.quota === 'context')!.used;
  const grow = () => {
    const db = new Database(path.join(context.dir, 'quality.sqlite.db'));
    db.exec(`CREATE TABLE filler (x BLOB); INSERT INTO filler VALUES (zeroblob(100000));`);
    db.close();
  };

  it('are measured again once their measurement is LIST_SIZES_MAX_AGE_MS old, not on every request', () => {
    const start = Date.now() + 60_000;
    const before = contextBytes(start);
    grow();
    expect(contextBytes(start + LIST_SIZES_MAX_AGE_MS - 1)).toBe(before);
    expect(contextBytes(start + LIST_SIZES_MAX_AGE_MS)).toBeGreaterThan(before + 100_000);
  });

  it('show what a health check has just measured', () => {
    const before = contextBytes(Date.now());
    grow();
    // Within LIST_SIZES_MAX_AGE_MS of that measurement: without the health check the list would show it.
    runHealthCheck({ volumeDir: fixture.volumeDir, store, actor: 'test', quotaLimits: (name) => quotaLimitsFor(settings, name) }, context.name);
    expect(contextBytes(Date.now())).toBeGreaterThan(before + 100_000);
  });
});

describe('quota limits', () => {
  it('come from the settings, with per-context overrides from TRUTH_YARD_QUOTA_FILE', () => {
    const file = path.join(stateDir, 'quotas.json');
    fs.writeFileSync(file, JSON.stringify({ 'tenant/acme': { databaseMb: 2, walMb: 3 } }));
    const settings = loadSettings({ TRUTH_YARD_QUOTA_FILE: file, TRUTH_YARD_QUOTA_DATABASE_MB: '1' });
    expect(quotaLimitsFor(settings, 'tenant/acme')).toEqual({ databaseBytes: 2 * 1024 * 1024, contextBytes: 4096 * 1024 * 1024, databases: 10, walBytes: 3 * 1024 * 1024 });
    expect(quotaLimitsFor(settings, 'tenant/globex').databaseBytes).toBe(1024 * 1024);
  });

  it('refuse a quota file that does not say what it should, naming the variable and the fix', () => {
    const file = path.join(stateDir, 'quotas.json');
    fs.writeFileSync(file, JSON.stringify({ 'tenant/acme': { databaseGb: 2 } }));
    expect(() => loadSettings({ TRUTH_YARD_QUOTA_FILE: file })).toThrow(/TRUTH_YARD_QUOTA_FILE\): tenant\/acme has "databaseGb"; use databaseMb, contextMb, databases, walMb/);
    fs.writeFileSync(file, '{"tenant/../x": {}}');
    expect(() => loadSettings({ TRUTH_YARD_QUOTA_FILE: file })).toThrow(/is not a context name/);
  });
});
