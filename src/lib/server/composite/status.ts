import crypto from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { autoDbPath, compositeSqlPath, type VolumeContext } from '../volume/contexts.ts';
import { resolveAttachPath } from './attach-targets.ts';
import { readManifest, type CompositeManifest } from './manifest.ts';

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

function schemaVersionOf(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('schema_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** Compares a context's auto.db with composite.sql and the attached databases as they are now. */
export function compositeState(context: VolumeContext): CompositeState {
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
  if (source !== null && crypto.createHash('sha256').update(source).digest('hex') !== manifest.sourceSha256) {
    reasons.push('composite.sql changed since the last regeneration');
  }
  for (const attachment of manifest.attachments) {
    const target = resolveAttachPath(context.dir, attachment.path);
    if (!target.ok) {
      reasons.push(`attached database ${attachment.name}: ${target.message}`);
      continue;
    }
    try {
      if (schemaVersionOf(target.absolutePath) !== attachment.schemaVersion) {
        reasons.push(`the schema of ${attachment.path} changed since the last regeneration`);
      }
    } catch (error) {
      reasons.push(`${attachment.path} cannot be read: ${(error as Error).message}`);
    }
  }
  return { context: context.name, status: reasons.length > 0 ? 'stale' : 'fresh', reasons, manifest };
}
