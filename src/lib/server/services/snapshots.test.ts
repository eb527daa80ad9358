import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { mountSmallDisk, unmountSmallDisk } from '../../../testing/small-disk.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { listAudit } from '../store/audit.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { resolveContext } from '../volume/contexts.ts';
import { createSnapshot, listSnapshots, MANIFEST_FILE, pruneSnapshots, restoreSnapshot, SnapshotError, snapshotsToPrune, verifySnapshot, type SnapshotScope, type SnapshotSummary } from './snapshots.ts';

const CONTEXT = 'tenant/acme';
const EVENTS_SQL = `PRAGMA journal_mode = wal;
  CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO events SELECT i, printf('event %d %s', i, hex(randomblob(40))) FROM n;`;

let fixture: VolumeFixture;
let stateDir: string;
let store: ConsoleStore;
let scope: SnapshotScope;
let eventsFile: string;

function ids(file: string): number[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT id FROM events ORDER BY id').all() as Array<{ id: number }>).map((row) => row.id);
  } finally {
    db.close();
  }
}

function insertEvents(file: string, from: number, to: number): void {
  const db = new Database(file);
  try {
    const insert = db.prepare("INSERT INTO events VALUES (?, 'later')");
    for (let id = from; id <= to; id++) insert.run(id);
  } finally {
    db.close();
  }
}

beforeEach(() => {
  fixture = createVolumeFixture();
  eventsFile = fixture.database(CONTEXT, 'events.sqlite.db', EVENTS_SQL);
  fixture.database(CONTEXT, 'other.sqlite.db', 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes VALUES (1, \'kept\');');
  fixture.compositeSql(CONTEXT, "ATTACH 'events.sqlite.db' AS events;\nATTACH 'other.sqlite.db' AS other;\nCREATE VIEW all_events AS SELECT * FROM events.events;\n");
  expect(regenerateComposite(resolveContext(fixture.volumeDir, CONTEXT)).ok).toBe(true);
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-snapshots-'));
  store = openConsoleStore(stateDir);
  scope = { volumeDir: fixture.volumeDir, store, actor: 'alice', snapshotsDir: path.join(stateDir, 'snapshots'), retention: { keep: 10, maxAgeDays: 30 } };
});

afterEach(() => {
  store.close();
  fixture.remove();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('taking a snapshot', () => {
  it('keeps a checked, read-only copy of every database with a manifest of digests, under the state folder', async () => {
    const manifest = await createSnapshot(scope, CONTEXT);
    const dir = path.join(scope.snapshotsDir, manifest.id);
    expect(manifest).toMatchObject({ context: CONTEXT, createdBy: 'alice', reason: 'manual', compositeSqlSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(manifest.files.map((f) => f.name)).toEqual(['events.sqlite.db', 'other.sqlite.db']);
    expect(fs.readdirSync(dir).sort()).toEqual(['events.sqlite.db', MANIFEST_FILE, 'other.sqlite.db']);
    for (const file of manifest.files) expect(fs.statSync(path.join(dir, file.name)).mode & 0o222).toBe(0);
    expect(ids(path.join(dir, 'events.sqlite.db'))).toHaveLength(2000);
    expect(await verifySnapshot(scope, manifest.id)).toMatchObject({ ok: true, problems: [] });
    expect(listAudit(store, { limit: 5 }).map((e) => e.action)).toEqual(['snapshot.verify', 'snapshot.create']);
  });

  it('copies exactly what was committed at one moment while a writer keeps inserting', async () => {
    const writer = new Database(eventsFile);
    const insert = writer.prepare("INSERT INTO events (body) VALUES ('during')");
    let committed = ids(eventsFile).length;
    const before = committed;
    // The backup runs on a worker thread, so this event loop keeps writing throughout.
    const writing = setInterval(() => {
      for (let i = 0; i < 20; i++) insert.run();
      committed += 20;
    }, 1);
    let manifest;
    try {
      manifest = await createSnapshot(scope, CONTEXT);
    } finally {
      clearInterval(writing);
      writer.close();
    }
    const after = committed;
    const copied = ids(path.join(scope.snapshotsDir, manifest.id, 'events.sqlite.db'));
    // Never torn: a prefix of the ids, no gaps, at least what was there before it began.
    expect(copied.length).toBeGreaterThanOrEqual(before);
    expect(copied.length).toBeLessThanOrEqual(after);
    expect(copied).toEqual(Array.from({ length: copied.length }, (_, i) => i + 1));
    expect(after).toBeGreaterThan(before);
    expect((await verifySnapshot(scope, manifest.id)).ok).toBe(true);

    // Restored, the database holds exactly those rows.
    await restoreSnapshot(scope, manifest.id);
    expect(ids(eventsFile)).toEqual(copied);
  });

  it('fails on a database that is not one, says what to run, and keeps nothing of it', async () => {
    fs.writeFileSync(path.join(fixture.contextDir(CONTEXT), 'broken.sqlite.db'), 'not a database at all, just text that is long enough to have a header');
    const failure = await createSnapshot(scope, CONTEXT).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'snapshot_failed', status: 422, message: expect.stringContaining('yard health tenant/acme --full') });
    // A web client is told what to run, not the database's own error (which may name a server path).
    expect((failure as SnapshotError).message).toContain('file is not a database');
    expect((failure as SnapshotError).publicMessage).toContain('yard health tenant/acme --full');
    expect((failure as SnapshotError).publicMessage).not.toContain('file is not a database');
    expect(fs.readdirSync(scope.snapshotsDir)).toEqual([]);
  });

  it('refuses a snapshot that would not fit, before writing anything', async () => {
    await expect(createSnapshot({ ...scope, freeBytes: () => 1024 }, CONTEXT)).rejects.toThrow(/Not enough space for a snapshot of tenant\/acme/);
    expect(fs.readdirSync(scope.snapshotsDir)).toEqual([]);
  });
});

describe('verifying', () => {
  it('finds a snapshot file changed after it was taken, and records it', async () => {
    const manifest = await createSnapshot(scope, CONTEXT);
    const copy = path.join(scope.snapshotsDir, manifest.id, 'other.sqlite.db');
    fs.chmodSync(copy, 0o644);
    fs.appendFileSync(copy, 'garbage');
    const verification = await verifySnapshot(scope, manifest.id);
    expect(verification.ok).toBe(false);
    expect(verification.problems[0]).toMatch(/other\.sqlite\.db changed since the snapshot was taken/);
    expect(listSnapshots(scope, CONTEXT)[0]).toMatchObject({ good: false, lastVerification: { ok: false } });
  });
});

describe('restoring', () => {
  it('puts the snapshot back, regenerates, and can itself be undone from the pre-restore snapshot', async () => {
    const manifest = await createSnapshot(scope, CONTEXT);
    insertEvents(eventsFile, 2001, 2100);
    const restored = await restoreSnapshot(scope, manifest.id);
    expect(restored.regeneration.ok).toBe(true);
    expect(ids(eventsFile)).toHaveLength(2000);
    expect(listAudit(store, { limit: 10 }).map((e) => e.action)).toContain('snapshot.restore');

    const undo = await restoreSnapshot(scope, restored.preRestoreSnapshot);
    expect(ids(eventsFile)).toHaveLength(2100);
    expect(listSnapshots(scope, CONTEXT).find((s) => s.id === restored.preRestoreSnapshot)?.reason).toBe('pre-restore');
    expect(undo.preRestoreSnapshot).not.toBe(restored.preRestoreSnapshot);
  });

  it('is refused while a writer holds a write transaction, and changes nothing', async () => {
    const manifest = await createSnapshot(scope, CONTEXT);
    insertEvents(eventsFile, 2001, 2010);
    const writer = new Database(eventsFile);
    writer.exec("BEGIN IMMEDIATE; INSERT INTO events VALUES (5000, 'uncommitted');");
    try {
      const refusal = await restoreSnapshot(scope, manifest.id).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(SnapshotError);
      expect((refusal as SnapshotError).code).toBe('snapshot_busy');
      expect((refusal as SnapshotError).message).toMatch(/a writer holds events\.sqlite\.db of tenant\/acme/);
      // The writer's transaction is intact and can commit.
      writer.exec('COMMIT');
    } finally {
      writer.close();
    }
    expect(ids(eventsFile)).toHaveLength(2011);
    expect(listSnapshots(scope, CONTEXT)).toHaveLength(1);
    expect(listAudit(store, { limit: 1 })[0]).toMatchObject({ action: 'snapshot.restore', outcome: 'denied' });
  });

  it('is refused too while a writer holds a rollback-journal database, whose readers it would make wait', async () => {
    const notes = path.join(fixture.contextDir(CONTEXT), 'other.sqlite.db');
    const manifest = await createSnapshot(scope, CONTEXT);
    const writer = new Database(notes);
    expect(writer.pragma('journal_mode', { simple: true })).toBe('delete');
    writer.exec("BEGIN IMMEDIATE; INSERT INTO notes VALUES (2, 'uncommitted');");
    try {
      await expect(restoreSnapshot(scope, manifest.id)).rejects.toMatchObject({ code: 'snapshot_busy', message: expect.stringContaining('other.sqlite.db') });
      writer.exec('COMMIT');
    } finally {
      writer.close();
    }
    const db = new Database(notes, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 2 });
    db.close();
  });
});

describe('retention', () => {
  const summary = (id: string, daysAgo: number, good = true): SnapshotSummary =>
    ({ id, createdAt: new Date(Date.parse('2026-06-30T00:00:00Z') - daysAgo * 86_400_000).toISOString(), good }) as SnapshotSummary;
  const now = new Date('2026-06-30T00:00:00Z');

  it('keeps the newest N and drops those past the age limit', () => {
    const snapshots = [summary('a', 1), summary('b', 2), summary('c', 3), summary('d', 40)];
    expect(snapshotsToPrune(snapshots, { keep: 2, maxAgeDays: 30 }, now)).toEqual(['c', 'd']);
    expect(snapshotsToPrune(snapshots, { keep: 10, maxAgeDays: 0 }, now)).toEqual([]);
  });

  it('never drops the newest good snapshot, however old or far down the list', () => {
    const snapshots = [summary('bad1', 1, false), summary('bad2', 2, false), summary('good', 90)];
    expect(snapshotsToPrune(snapshots, { keep: 1, maxAgeDays: 30 }, now)).toEqual(['bad2']);
    expect(snapshotsToPrune([summary('only', 400)], { keep: 1, maxAgeDays: 1 }, now)).toEqual([]);
  });

  it('removes pruned snapshots from disk and keeps the rest listed', async () => {
    const first = await createSnapshot(scope, CONTEXT);
    const second = await createSnapshot(scope, CONTEXT);
    const result = await pruneSnapshots({ ...scope, retention: { keep: 1, maxAgeDays: 30 } }, CONTEXT);
    expect(result.removed).toEqual([first.id]);
    expect(fs.existsSync(path.join(scope.snapshotsDir, first.id))).toBe(false);
    expect(listSnapshots(scope, CONTEXT).map((s) => s.id)).toEqual([second.id]);
  });
});

/** A disk that really fills up: a small tmpfs mounted for each test (see testing/small-disk.ts). */
describe('a full disk', () => {
  let disk: string | null = null;
  afterEach(() => {
    if (disk) unmountSmallDisk(disk);
    disk = null;
  });

  it('fails the snapshot cleanly and leaves nothing half-written', async () => {
    disk = mountSmallDisk('64k');
    const onSmallDisk: SnapshotScope = { ...scope, snapshotsDir: path.join(disk, 'snapshots') };
    // The pre-check refuses what cannot fit.
    await expect(createSnapshot(onSmallDisk, CONTEXT)).rejects.toMatchObject({ code: 'snapshot_no_space' });
    expect(fs.readdirSync(onSmallDisk.snapshotsDir)).toEqual([]);
    // And when the disk fills after the check (another writer took the space), the copy fails and is removed.
    const failure = await createSnapshot({ ...onSmallDisk, freeBytes: () => Number.MAX_SAFE_INTEGER }, CONTEXT).catch((error: unknown) => error);
    expect(failure, String(failure)).toBeInstanceOf(SnapshotError);
    expect((failure as SnapshotError).code).toBe('snapshot_no_space');
    expect((failure as SnapshotError).message).toMatch(/nothing of it was kept/);
    expect(fs.readdirSync(onSmallDisk.snapshotsDir)).toEqual([]);
    expect(listSnapshots(onSmallDisk, CONTEXT)).toEqual([]);
  });
});
