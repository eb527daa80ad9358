import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../core/project-root.ts';
import { fsyncPath } from '../core/fsync.ts';
import { ProblemError } from '../core/errors.ts';
import { formatMib } from '../core/format.ts';
import { measureContext } from '../quotas/quotas.ts';
import { compositeSqlPath, listDatabaseFiles, resolveContext, type VolumeContext } from '../volume/contexts.ts';
import { recordAudit } from '../store/audit.ts';
import { isDiskFull, type ConsoleStore } from '../store/database.ts';
import { regenerateContextOnWorker, type OperationsScope } from './operations.ts';
import type { RegenerationResult } from '../composite/regenerate.ts';
import { sourceDigest } from '../composite/manifest.ts';
import type { SnapshotAnswer, SnapshotTask } from '../snapshots/snapshot-worker.ts';

/**
 * Snapshots: consistent, checked, read-only copies of every source database of a context,
 * kept under the state directory (`<state>/snapshots/<uuid>/`), never in the volume.
 *
 * - create: SQLite's online backup of each database on a worker thread (see
 *   snapshot-worker.ts), integrity_check of each copy, SHA-256 of each file, a manifest; the
 *   snapshot is built in a `.partial-<uuid>` folder and renamed into place only when all
 *   of it is written, so a failure (a full disk) leaves nothing half-written.
 * - verify: digests and integrity again, recorded in the console store.
 * - restore: refused while a writer holds a database; otherwise a snapshot of the current
 *   files first, then each file copied beside its target, fsynced and renamed over it
 *   under the target's write lock, then the composite regenerated.
 * - prune: the newest TRUTH_YARD_SNAPSHOT_KEEP per context, none older than
 *   TRUTH_YARD_SNAPSHOT_MAX_AGE_DAYS, and never the newest good one.
 */
export interface SnapshotScope extends OperationsScope {
  /** `<state>/snapshots`. */
  snapshotsDir: string;
  retention: { keep: number; maxAgeDays: number };
  /** Free bytes of the file system holding a folder; statfs unless a test says otherwise. */
  freeBytes?: (dir: string) => number;
}

export interface SnapshotFile {
  /** File name in the context folder, e.g. `qualityfolio.sqlite.db`. */
  name: string;
  bytes: number;
  sha256: string;
}

export interface SnapshotManifest {
  id: string;
  context: string;
  /** ISO 8601 UTC. */
  createdAt: string;
  createdBy: string;
  /** `manual`, or `pre-restore` for the copy a restore takes of what it replaces. */
  reason: 'manual' | 'pre-restore';
  /** SHA-256 of composite.sql when the snapshot was taken; null when there was none. */
  compositeSqlSha256: string | null;
  files: SnapshotFile[];
  totalBytes: number;
  tookMs: number;
}

export interface SnapshotVerification {
  at: string;
  ok: boolean;
  problems: string[];
}

export interface SnapshotSummary extends SnapshotManifest {
  /** The latest verification; null when never verified since it was taken (it passed its checks then). */
  lastVerification: SnapshotVerification | null;
  /** Passed its checks when taken and has not failed a verification since. */
  good: boolean;
}

export const MANIFEST_FILE = 'manifest.json';
const PARTIAL_PREFIX = '.partial-';
/** A partial folder this old was left by a process that died mid-snapshot. */
const ABANDONED_PARTIAL_MS = 60 * 60 * 1000;
/** Room kept free beyond the copies themselves: the manifest, file-system overhead. */
const SPACE_MARGIN_BYTES = 1024 * 1024;
const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Why a snapshot operation could not be done, said so a person can act on it. */
export class SnapshotError extends ProblemError {
  constructor(
    readonly code: 'snapshot_not_found' | 'snapshot_no_space' | 'snapshot_busy' | 'snapshot_damaged' | 'snapshot_failed' | 'snapshot_empty' | 'snapshot_unconfirmed',
    message: string,
    status: number,
    /** What a web client is told instead, when the message carries a database's own error (it may name server paths). */
    private readonly publicReason: string = message,
  ) {
    super(code, message, status);
  }

  override get publicMessage(): string {
    return this.publicReason;
  }
}

const WORKER_ENTRY = path.join(PROJECT_ROOT, 'src/lib/server/snapshots/snapshot-worker.mjs');

/** Runs one task on a worker thread of its own, which ends with it. */
function onWorker<K extends SnapshotTask['kind']>(task: Extract<SnapshotTask, { kind: K }>): Promise<Extract<SnapshotAnswer, { ok: true }>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_ENTRY, { workerData: task });
    let answered = false;
    worker.once('message', (answer: SnapshotAnswer) => {
      answered = true;
      if (answer.ok) resolve(answer);
      else reject(Object.assign(new Error(answer.message), { code: answer.code }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the snapshot worker ended (${code}) without an answer`));
    });
  });
}

function statfsFreeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}

/** composite.sql's digest as the composite's manifest records it (sourceDigest), so the two compare; null when the file is gone. */
function compositeSqlDigest(context: VolumeContext): string | null {
  try {
    return sourceDigest(fs.readFileSync(compositeSqlPath(context), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Removes a snapshot folder without holding the event loop: freeing the blocks of copies
 * of large databases takes the file system a while (some 190 ms for 320 MB here).
 */
async function removeFolder(dir: string): Promise<void> {
  // Snapshot files are read-only: give write permission back first so a non-root service can remove them.
  try {
    await fs.promises.chmod(dir, 0o755);
    for (const name of await fs.promises.readdir(dir)) await fs.promises.chmod(path.join(dir, name), 0o644);
  } catch {
    // Gone already, or not ours to change: rm says which.
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
}

/** Removes `.partial-*` folders left by a process that died while taking a snapshot. */
async function removeAbandonedPartials(snapshotsDir: string): Promise<void> {
  let names: string[];
  try {
    names = fs.readdirSync(snapshotsDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PARTIAL_PREFIX)) continue;
    const dir = path.join(snapshotsDir, name);
    if (Date.now() - fs.statSync(dir).mtimeMs > ABANDONED_PARTIAL_MS) await removeFolder(dir);
  }
}

/** The databases a snapshot of a context copies: every source database in its folder (never the composite, which is regenerated). */
function sourceFiles(context: VolumeContext): Array<{ name: string; path: string }> {
  return listDatabaseFiles(context).map((name) => ({ name, path: path.join(context.dir, name) }));
}

/** Takes a snapshot of one context. */
export async function createSnapshot(scope: SnapshotScope, contextName: string, reason: SnapshotManifest['reason'] = 'manual'): Promise<SnapshotManifest> {
  const context = resolveContext(scope.volumeDir, contextName);
  const started = performance.now();
  const sources = sourceFiles(context);
  if (sources.length === 0) throw new SnapshotError('snapshot_empty', `${context.name} has no databases (*.sqlite.db) to snapshot.`, 409);
  fs.mkdirSync(scope.snapshotsDir, { recursive: true, mode: 0o700 });
  await removeAbandonedPartials(scope.snapshotsDir);

  // A copy is at most the database and the part of its log not yet checkpointed.
  const needed = measureContext(context).databases.reduce((sum, database) => sum + database.bytes + database.walBytes, 0) + SPACE_MARGIN_BYTES;
  const free = (scope.freeBytes ?? statfsFreeBytes)(scope.snapshotsDir);
  if (needed > free) {
    const error = new SnapshotError(
      'snapshot_no_space',
      `Not enough space for a snapshot of ${context.name}: it needs about ${formatMib(needed)} and the state folder's disk has ${formatMib(free)} free. Prune old snapshots (yard snapshot prune) or free space, then try again.`,
      507,
    );
    auditSnapshot(scope, 'snapshot.create', context.name, 'error', { reason, error: error.message });
    throw error;
  }

  const id = crypto.randomUUID();
  const partial = path.join(scope.snapshotsDir, `${PARTIAL_PREFIX}${id}`);
  fs.mkdirSync(partial, { mode: 0o700 });
  try {
    const { files } = (await onWorker({ kind: 'copy', sources, destDir: partial })) as Extract<SnapshotAnswer, { kind: 'copy' }>;
    const manifest: SnapshotManifest = {
      id,
      context: context.name,
      createdAt: new Date().toISOString(),
      createdBy: scope.actor,
      reason,
      compositeSqlSha256: compositeSqlDigest(context),
      files,
      totalBytes: files.reduce((sum, file) => sum + file.bytes, 0),
      tookMs: Math.round(performance.now() - started),
    };
    const manifestPath = path.join(partial, MANIFEST_FILE);
    const fd = fs.openSync(manifestPath, 'wx', 0o444);
    try {
      fs.writeFileSync(fd, `${JSON.stringify(manifest, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    for (const file of files) fs.chmodSync(path.join(partial, file.name), 0o444);
    const final = path.join(scope.snapshotsDir, id);
    fs.renameSync(partial, final);
    fsyncPath(scope.snapshotsDir);
    auditSnapshot(scope, 'snapshot.create', context.name, 'ok', { snapshot: id, reason, files: files.length, totalBytes: manifest.totalBytes });
    return manifest;
  } catch (error) {
    await removeFolder(partial);
    const failure = isDiskFull(error)
      ? new SnapshotError('snapshot_no_space', `The disk of the state folder filled up while the snapshot of ${context.name} was written; nothing of it was kept. Free space or prune old snapshots, then try again.`, 507)
      : new SnapshotError(
          'snapshot_failed',
          `The snapshot of ${context.name} failed and nothing of it was kept: ${(error as Error).message}. Run yard health ${context.name} --full to see what is wrong with its databases.`,
          422,
          `The snapshot of ${context.name} failed and nothing of it was kept. Run yard health ${context.name} --full to see what is wrong with its databases.`,
        );
    auditSnapshot(scope, 'snapshot.create', context.name, 'error', { reason, error: failure.message });
    throw failure;
  }
}

function auditSnapshot(scope: SnapshotScope, action: string, target: string, outcome: 'ok' | 'error' | 'denied', detail: Record<string, unknown>): void {
  recordAudit(scope.store, { actor: scope.actor, action, target, outcome, detail });
}

function readManifest(dir: string): SnapshotManifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as SnapshotManifest;
  } catch {
    return null;
  }
}

/**
 * The manifests of the last list of each snapshots folder, by snapshot id. A manifest is
 * written once, read-only, before its folder is renamed into place, and never changed, so a
 * list reads each from disk once rather than every context's manifests on every request;
 * each list keeps only the folders it found, so a snapshot removed (here or by another
 * process) is dropped.
 */
const listedManifests = new Map<string, Map<string, SnapshotManifest>>();

function lastVerifications(store: ConsoleStore, ids: string[]): Map<string, SnapshotVerification> {
  const found = new Map<string, SnapshotVerification>();
  const latest = store.prepare('SELECT at, ok, problems FROM snapshot_verifications WHERE snapshot_id = ? ORDER BY id DESC LIMIT 1');
  for (const id of ids) {
    const row = latest.get(id) as { at: string; ok: number; problems: string } | undefined;
    if (row) found.set(id, { at: row.at, ok: row.ok === 1, problems: JSON.parse(row.problems) as string[] });
  }
  return found;
}

/** Snapshots newest first, of one context or (null) of every context. */
export function listSnapshots(scope: Pick<SnapshotScope, 'snapshotsDir' | 'store'>, contextName: string | null): SnapshotSummary[] {
  let names: string[];
  try {
    names = fs.readdirSync(scope.snapshotsDir).filter((name) => ID_PATTERN.test(name));
  } catch {
    return [];
  }
  const before = listedManifests.get(scope.snapshotsDir);
  const listed = new Map<string, SnapshotManifest>();
  for (const name of names) {
    const manifest = before?.get(name) ?? readManifest(path.join(scope.snapshotsDir, name));
    if (manifest) listed.set(name, manifest);
  }
  listedManifests.set(scope.snapshotsDir, listed);
  const manifests = [...listed.values()]
    .filter((manifest) => contextName === null || manifest.context === contextName)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  const verifications = lastVerifications(scope.store, manifests.map((m) => m.id));
  return manifests.map((manifest) => {
    const lastVerification = verifications.get(manifest.id) ?? null;
    return { ...manifest, lastVerification, good: lastVerification?.ok ?? true };
  });
}

/** A snapshot by id; `contextName`, when given, must be its context (a page of one context cannot reach another's). */
function getSnapshot(scope: Pick<SnapshotScope, 'snapshotsDir' | 'store'>, id: string, contextName: string | null = null): SnapshotSummary {
  const notFound = () => new SnapshotError('snapshot_not_found', `No snapshot ${id}${contextName ? ` of ${contextName}` : ''}; list them with: yard snapshot list`, 404);
  if (!ID_PATTERN.test(id)) throw notFound();
  const manifest = readManifest(path.join(scope.snapshotsDir, id));
  if (!manifest || (contextName !== null && manifest.context !== contextName)) throw notFound();
  const lastVerification = lastVerifications(scope.store, [id]).get(id) ?? null;
  return { ...manifest, lastVerification, good: lastVerification?.ok ?? true };
}

/** Re-checks every file's SHA-256 and integrity, and records the outcome. */
export async function verifySnapshot(scope: SnapshotScope, id: string, contextName: string | null = null): Promise<SnapshotVerification & { snapshot: string; context: string }> {
  const snapshot = getSnapshot(scope, id, contextName);
  const dir = path.join(scope.snapshotsDir, id);
  const { problems } = (await onWorker({ kind: 'verify', files: snapshot.files.map((file) => ({ name: file.name, path: path.join(dir, file.name), sha256: file.sha256 })) })) as Extract<
    SnapshotAnswer,
    { kind: 'verify' }
  >;
  const at = new Date().toISOString();
  scope.store.transaction(() => {
    scope.store.prepare('INSERT INTO snapshot_verifications (snapshot_id, context, at, ok, problems) VALUES (?, ?, ?, ?, ?)').run(id, snapshot.context, at, problems.length === 0 ? 1 : 0, JSON.stringify(problems));
    auditSnapshot(scope, 'snapshot.verify', snapshot.context, problems.length === 0 ? 'ok' : 'error', { snapshot: id, problems });
  }).immediate();
  return { snapshot: id, context: snapshot.context, at, ok: problems.length === 0, problems };
}

export interface RestoreResult {
  snapshot: string;
  context: string;
  /** The snapshot of what was replaced: restoring it undoes this restore. */
  preRestoreSnapshot: string;
  files: string[];
  regeneration: RegenerationResult;
}

function busyError(contextName: string, busy: string[]): SnapshotError {
  const names = busy.map((file) => path.basename(file)).join(', ');
  return new SnapshotError(
    'snapshot_busy',
    `Not restored: a writer holds ${names} of ${contextName} (an open write transaction, or a write-ahead log it is still using). Stop the application writing to it, then restore again; nothing was changed.`,
    409,
  );
}

/**
 * Restores a context's databases from a snapshot. The snapshot is verified first; a
 * database a writer holds refuses the restore before anything is copied; the current
 * files are snapshotted (`pre-restore`) so the restore can be undone; then every file is
 * put in place atomically under its write lock, and the composite regenerated (on a worker
 * thread: parsing composite.sql and waiting for its lock never hold up other requests).
 */
export async function restoreSnapshot(scope: SnapshotScope, id: string, contextName: string | null = null): Promise<RestoreResult> {
  const snapshot = getSnapshot(scope, id, contextName);
  const context = resolveContext(scope.volumeDir, snapshot.context);
  const refuse = (error: SnapshotError): never => {
    auditSnapshot(scope, 'snapshot.restore', context.name, error.code === 'snapshot_busy' ? 'denied' : 'error', { snapshot: id, error: error.message });
    throw error;
  };
  const verification = await verifySnapshot(scope, id, context.name);
  if (!verification.ok) refuse(new SnapshotError('snapshot_damaged', `Snapshot ${id} cannot be restored: ${verification.problems.join('; ')}`, 422));

  const targets = snapshot.files.map((file) => path.join(context.dir, file.name));
  const probe = (await onWorker({ kind: 'probe', targets })) as { busy: string[] };
  if (probe.busy.length > 0) refuse(busyError(context.name, probe.busy));

  const preRestore = await createSnapshot(scope, context.name, 'pre-restore');
  const dir = path.join(scope.snapshotsDir, id);
  const installed = (await onWorker({ kind: 'install', files: snapshot.files.map((file) => ({ from: path.join(dir, file.name), to: path.join(context.dir, file.name) })) })) as { busy: string[] };
  if (installed.busy.length > 0) refuse(busyError(context.name, installed.busy));

  auditSnapshot(scope, 'snapshot.restore', context.name, 'ok', { snapshot: id, preRestoreSnapshot: preRestore.id, files: snapshot.files.map((f) => f.name) });
  const regeneration = await regenerateContextOnWorker(scope, context.name);
  return { snapshot: id, context: context.name, preRestoreSnapshot: preRestore.id, files: snapshot.files.map((f) => f.name), regeneration };
}

export interface PruneResult {
  context: string;
  removed: string[];
  kept: string[];
}

/**
 * Which snapshots of a context retention removes: beyond the newest `keep`, or older than
 * `maxAgeDays` (0: no age limit), but never the newest good one, which may be all that is
 * left to restore from.
 */
export function snapshotsToPrune(snapshots: SnapshotSummary[], retention: SnapshotScope['retention'], now = new Date()): string[] {
  const newestGood = snapshots.find((snapshot) => snapshot.good)?.id;
  const oldestKept = now.getTime() - retention.maxAgeDays * 24 * 60 * 60 * 1000;
  return snapshots
    .filter((snapshot, index) => snapshot.id !== newestGood && (index >= retention.keep || (retention.maxAgeDays > 0 && Date.parse(snapshot.createdAt) < oldestKept)))
    .map((snapshot) => snapshot.id);
}

/** Applies retention to one context's snapshots. */
export async function pruneSnapshots(scope: SnapshotScope, contextName: string, now = new Date()): Promise<PruneResult> {
  const snapshots = listSnapshots(scope, contextName);
  const removed = snapshotsToPrune(snapshots, scope.retention, now);
  for (const id of removed) await removeFolder(path.join(scope.snapshotsDir, id));
  if (removed.length > 0) auditSnapshot(scope, 'snapshot.prune', contextName, 'ok', { removed });
  return { context: contextName, removed, kept: snapshots.map((s) => s.id).filter((id) => !removed.includes(id)) };
}

/** Takes a snapshot and then applies retention to the context's snapshots, as every caller wants. */
export async function takeSnapshot(scope: SnapshotScope, contextName: string): Promise<{ snapshot: SnapshotManifest; pruned: string[] }> {
  const snapshot = await createSnapshot(scope, contextName);
  return { snapshot, pruned: (await pruneSnapshots(scope, snapshot.context)).removed };
}

/** Reads the confirmation a restore needs: the context's name, typed or sent back, so a stray request restores nothing. */
export function assertRestoreConfirmed(contextName: string, confirmation: unknown): void {
  if (confirmation !== contextName) {
    throw new SnapshotError('snapshot_unconfirmed', `A restore replaces the databases of ${contextName}: confirm it by sending {"confirm": "${contextName}"}.`, 400);
  }
}

/** Contexts that have snapshots, for `prune --all`. */
export function contextsWithSnapshots(scope: Pick<SnapshotScope, 'snapshotsDir' | 'store'>): string[] {
  return [...new Set(listSnapshots(scope, null).map((snapshot) => snapshot.context))].sort();
}
