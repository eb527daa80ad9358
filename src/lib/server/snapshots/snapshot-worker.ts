import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { fsyncPath } from '../core/fsync.ts';
import { isDatabaseBusy } from '../composite/connect.ts';

/**
 * The slow parts of snapshots, on a worker thread so the server's event loop keeps serving
 * meanwhile: SQLite's online backup of each database, `PRAGMA integrity_check` of each
 * copy, SHA-256 of every file, and the staging and swapping of restored files.
 */
export type SnapshotTask =
  | { kind: 'copy'; sources: Array<{ name: string; path: string }>; destDir: string }
  | { kind: 'verify'; files: Array<{ name: string; path: string; sha256: string }> }
  | { kind: 'probe'; targets: string[] }
  | { kind: 'install'; files: Array<{ from: string; to: string }> };

export interface CopiedFile {
  name: string;
  bytes: number;
  sha256: string;
}

export type SnapshotAnswer =
  | { ok: true; kind: 'copy'; files: CopiedFile[] }
  | { ok: true; kind: 'verify'; problems: string[] }
  | { ok: true; kind: 'probe' | 'install'; busy: string[] }
  | { ok: false; message: string; code: string | null };

/** One backup step copies every page: a stepwise copy restarts whenever a writer commits, and under steady writes never ends. */
const ALL_PAGES = 0x7fffffff;
/** Damage is reported, not catalogued. */
const INTEGRITY_PROBLEM_LIMIT = 10;

async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function integrityProblems(db: Database.Database): string[] {
  const results = (db.pragma(`integrity_check(${INTEGRITY_PROBLEM_LIMIT})`) as Array<Record<string, string>>).map((row) => Object.values(row)[0]!);
  return results.length === 1 && results[0] === 'ok' ? [] : results;
}

/**
 * A consistent copy of each database by the online backup API, read in one step, which is
 * one read transaction: in WAL mode writers keep committing meanwhile and the copy holds
 * exactly what was committed when it started (a rollback-journal database makes its
 * writers wait for the copy instead). Each copy is checked and fsynced.
 */
async function copy(task: Extract<SnapshotTask, { kind: 'copy' }>): Promise<CopiedFile[]> {
  const files: CopiedFile[] = [];
  for (const source of task.sources) {
    const dest = path.join(task.destDir, source.name);
    const db = new Database(source.path, { readonly: true, fileMustExist: true });
    try {
      await db.backup(dest, { progress: () => ALL_PAGES });
    } finally {
      db.close();
    }
    // The copy is this process's own file: a read-write connection leaves no -wal or -shm behind when it closes.
    const copyDb = new Database(dest, { fileMustExist: true });
    try {
      const problems = integrityProblems(copyDb);
      if (problems.length > 0) throw new Error(`the copy of ${source.name} fails integrity_check: ${problems.slice(0, 3).join('; ')}`);
    } finally {
      copyDb.close();
    }
    fsyncPath(dest);
    files.push({ name: source.name, bytes: fs.statSync(dest).size, sha256: await sha256Of(dest) });
  }
  return files;
}

/** Digest first (the bytes are what was kept), then integrity; the -wal and -shm a read-only check leaves are removed. */
async function verify(task: Extract<SnapshotTask, { kind: 'verify' }>): Promise<string[]> {
  const problems: string[] = [];
  for (const file of task.files) {
    if (!fs.existsSync(file.path)) {
      problems.push(`${file.name} is missing from the snapshot`);
      continue;
    }
    const digest = await sha256Of(file.path);
    if (digest !== file.sha256) {
      problems.push(`${file.name} changed since the snapshot was taken: SHA-256 ${digest} instead of ${file.sha256}`);
      continue;
    }
    try {
      const db = new Database(file.path, { readonly: true, fileMustExist: true });
      try {
        const damage = integrityProblems(db);
        if (damage.length > 0) problems.push(`${file.name} fails integrity_check: ${damage.slice(0, 3).join('; ')}`);
      } finally {
        db.close();
        for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file.path}${suffix}`, { force: true });
      }
    } catch (error) {
      problems.push(`${file.name} cannot be checked: ${(error as Error).message}`);
    }
  }
  return problems;
}

interface HeldTarget {
  target: string;
  db: Database.Database | null;
}

/**
 * Takes the write lock of each existing target with no waiting: BEGIN IMMEDIATE fails at
 * once when a writer holds a write transaction. A WAL database's log is checkpointed and
 * truncated first, so no frame of the old database is left beside the new file, and a
 * rollback journal left by a crashed writer is rolled back by the open itself. Answers
 * the held locks, or the targets that are busy (after letting go of everything).
 */
function lockTargets(targets: string[]): { held: HeldTarget[]; busy: string[] } {
  const held: HeldTarget[] = [];
  const busy: string[] = [];
  for (const target of targets) {
    if (!fs.existsSync(target)) {
      held.push({ target, db: null });
      continue;
    }
    const db = new Database(target, { fileMustExist: true, timeout: 0 });
    try {
      const [checkpoint] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number }>;
      db.exec('BEGIN IMMEDIATE');
      const wal = `${target}-wal`;
      if (checkpoint?.busy || (fs.existsSync(wal) && fs.statSync(wal).size > 0)) throw Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' });
      const journal = `${target}-journal`;
      if (fs.existsSync(journal) && fs.statSync(journal).size > 0) throw Object.assign(new Error('hot journal'), { code: 'SQLITE_BUSY' });
      held.push({ target, db });
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
      if (!isDatabaseBusy(error)) {
        release(held);
        throw error;
      }
      busy.push(target);
    }
  }
  if (busy.length > 0) {
    release(held);
    return { held: [], busy };
  }
  return { held, busy };
}

function release(held: HeldTarget[]): void {
  for (const { db } of held) {
    if (!db) continue;
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

/**
 * Puts every restored file in place while holding every target's write lock: each is
 * first copied beside its target and fsynced, then renamed over it (atomic on one file
 * system), then the folder is fsynced. A target a writer holds refuses the whole restore
 * before anything is renamed.
 */
function install(task: Extract<SnapshotTask, { kind: 'install' }>): string[] {
  const staged = task.files.map((file) => ({ ...file, staging: `${file.to}.restoring-${process.pid}-${crypto.randomUUID()}` }));
  try {
    for (const file of staged) {
      fs.copyFileSync(file.from, file.staging);
      fs.chmodSync(file.staging, 0o644);
      fsyncPath(file.staging);
    }
    const { held, busy } = lockTargets(staged.map((file) => file.to));
    if (busy.length > 0) return busy;
    try {
      for (const file of staged) fs.renameSync(file.staging, file.to);
      for (const dir of new Set(staged.map((file) => path.dirname(file.to)))) fsyncPath(dir);
    } finally {
      release(held);
    }
    return [];
  } finally {
    for (const file of staged) fs.rmSync(file.staging, { force: true });
  }
}

async function run(task: SnapshotTask): Promise<SnapshotAnswer> {
  try {
    switch (task.kind) {
      case 'copy':
        return { ok: true, kind: 'copy', files: await copy(task) };
      case 'verify':
        return { ok: true, kind: 'verify', problems: await verify(task) };
      case 'probe': {
        const { held, busy } = lockTargets(task.targets);
        release(held);
        return { ok: true, kind: 'probe', busy };
      }
      case 'install':
        return { ok: true, kind: 'install', busy: install(task) };
    }
  } catch (error) {
    return { ok: false, message: (error as Error).message, code: (error as { code?: string }).code ?? null };
  }
}

if (parentPort) parentPort.postMessage(await run(workerData as SnapshotTask));
