import fs from 'node:fs';
import path from 'node:path';
import { autoDbPath, compositeSqlPath, type VolumeContext } from '../volume/contexts.ts';
import { resolveAttachPath } from './attach-targets.ts';
import { isDatabaseBusy } from './connect.ts';
import { readManifest, schemaVersionOf, sourceDigest, type CompositeManifest } from './manifest.ts';

/**
 * fresh: serving what composite.sql says over the databases as they are.
 * stale: serving, but composite.sql or an attached database changed since generation.
 * missing: never generated. broken: the auto.db cannot be read.
 */
export type CompositeStatus = 'fresh' | 'stale' | 'missing' | 'broken';

export interface CompositeState {
  context: string;
  status: CompositeStatus;
  /** Why it is not fresh, one sentence each, saying what to do. */
  reasons: string[];
  manifest: CompositeManifest | null;
}

/** Compares a context's auto.db with composite.sql and the attached databases as they are now. */
function computeState(context: VolumeContext): CompositeState {
  const autoDb = autoDbPath(context);
  if (!fs.existsSync(autoDb)) {
    return { context: context.name, status: 'missing', reasons: [`not generated yet; run: yard regenerate ${context.name}`], manifest: null };
  }
  let manifest: CompositeManifest;
  try {
    manifest = readManifest(autoDb);
  } catch (error) {
    return { context: context.name, status: 'broken', reasons: [(error as Error).message], manifest: null };
  }
  const reasons: string[] = [];
  let source: string | null = null;
  try {
    source = fs.readFileSync(compositeSqlPath(context), 'utf8');
  } catch {
    reasons.push('composite.sql is gone; restore it or remove the context folder');
  }
  if (source !== null && sourceDigest(source) !== manifest.sourceSha256) {
    reasons.push('composite.sql changed since the last regeneration');
  }
  for (const attachment of manifest.attachments) {
    const target = resolveAttachPath(context.dir, attachment.path);
    if (!target.ok) {
      reasons.push(`attached database ${attachment.name}: ${target.message}`);
      continue;
    }
    try {
      // No busy wait: statuses are computed on the server's thread.
      if (schemaVersionOf(target.absolutePath, 0) !== attachment.schemaVersion) {
        reasons.push(`the schema of ${attachment.path} changed since the last regeneration`);
      }
    } catch (error) {
      // A writer holding a lock says nothing about the composite; it is checked again once the file changes.
      if (isDatabaseBusy(error)) continue;
      reasons.push(`${attachment.path} cannot be read: ${(error as Error).message}`);
    }
  }
  return { context: context.name, status: reasons.length > 0 ? 'stale' : 'fresh', reasons, manifest };
}

/**
 * What a context's state depends on: the auto.db (replaced by a rename, never written in
 * place), composite.sql, and each attached database with its write-ahead log.
 */
function filesOf(context: VolumeContext, state: CompositeState | undefined): string[] {
  const files = [autoDbPath(context), compositeSqlPath(context)];
  for (const attachment of state?.manifest?.attachments ?? []) {
    const file = path.resolve(context.dir, attachment.path);
    files.push(file, `${file}-wal`);
  }
  return files;
}

/** Inode, size and modification time of each file, three numbers a file (-1 for an absent one). */
function stampsOf(files: string[]): number[] {
  const stamps: number[] = [];
  for (const file of files) {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat) stamps.push(stat.ino, stat.size, stat.mtimeMs);
    else stamps.push(-1, -1, -1);
  }
  return stamps;
}

/** Whether the files still have these stamps; stops at the first that differs. */
function stampsHold(files: string[], stamps: number[]): boolean {
  for (let index = 0; index < files.length; index += 1) {
    const stat = fs.statSync(files[index], { throwIfNoEntry: false });
    const at = index * 3;
    if (stat ? stat.ino !== stamps[at] || stat.size !== stamps[at + 1] || stat.mtimeMs !== stamps[at + 2] : stamps[at] !== -1) return false;
  }
  return true;
}

/** A context's state with the files it was computed from, their stamps, and when they were last compared (performance.now()). */
const cachedStates = new Map<string, { files: string[]; stamps: number[]; state: CompositeState; stampedAt: number }>();

/**
 * A context's state, recomputed only when a file it depends on changed size, time or
 * inode. Computing it opens the auto.db and every attached database; a volume of
 * thousands of tenants listed on one page cannot afford that on every request, but can
 * afford a few stat calls each (compared as numbers, without building paths or strings:
 * the status index compares ten thousand contexts' files every few seconds). With
 * `reuseWithinMs`, a state whose files were compared less than that long ago is taken as
 * it is: requests arriving together share one look.
 */
export function compositeState(context: VolumeContext, reuseWithinMs = 0): CompositeState {
  const cached = cachedStates.get(context.dir);
  const now = performance.now();
  if (cached && now - cached.stampedAt < reuseWithinMs) return cached.state;
  if (cached && stampsHold(cached.files, cached.stamps)) {
    cached.stampedAt = now;
    return cached.state;
  }
  const before = stampsOf(filesOf(context, undefined));
  const state = computeState(context);
  const files = filesOf(context, state);
  const after = stampsOf(files);
  // Cached only if the auto.db and composite.sql were not replaced while it was being computed.
  if (before.every((stamp, index) => stamp === after[index])) cachedStates.set(context.dir, { files, stamps: after, state, stampedAt: now });
  else cachedStates.delete(context.dir);
  return state;
}

/** The state last computed for a context, without looking at its files again; undefined if never computed. */
export function lastKnownCompositeState(context: VolumeContext): CompositeState | undefined {
  return cachedStates.get(context.dir)?.state;
}

/** Drops the kept states of contexts that are gone, so removed tenants do not stay in memory. */
export function forgetCompositeStatesExcept(contextDirs: Set<string>): void {
  for (const dir of cachedStates.keys()) if (!contextDirs.has(dir)) cachedStates.delete(dir);
}
