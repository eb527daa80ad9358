import fs from 'node:fs';
import path from 'node:path';
import { AUTO_DB_FILE } from '../volume/contexts.ts';
import type { CompositePlan, CompositeProblem } from './plan.ts';

export interface ResolvedAttachment {
  name: string;
  /** As written in composite.sql, relative to the context folder. */
  path: string;
  /** After realpath: the file SQLite will open. */
  absolutePath: string;
}

export type AttachPathResolution = { ok: true; absolutePath: string } | { ok: false; message: string };

/**
 * Proves a path from composite.sql names an existing regular file inside the context
 * folder, after resolving symbolic links, before anything ATTACHes it: ATTACH of a missing
 * file creates an empty database, and a link could lead into another tenant's folder.
 * Reads the file system only; never creates anything.
 */
export function resolveAttachPath(contextDir: string, relativePath: string): AttachPathResolution {
  if (relativePath === '' || path.isAbsolute(relativePath) || /^[A-Za-z]:/.test(relativePath)) {
    return { ok: false, message: `"${relativePath}" must be a path relative to the context folder, like 'qualityfolio.sqlite.db'` };
  }
  if (/^file:/i.test(relativePath)) {
    return { ok: false, message: `"${relativePath}" is a URI; write the plain file name, like 'qualityfolio.sqlite.db' (URI filenames are off)` };
  }
  const folder = fs.realpathSync(contextDir);
  const joined = path.resolve(folder, relativePath);
  if (!joined.startsWith(folder + path.sep)) {
    return { ok: false, message: `"${relativePath}" leaves the context folder; attach only databases inside it` };
  }
  let real: string;
  try {
    real = fs.realpathSync(joined);
  } catch {
    return { ok: false, message: `"${relativePath}" does not exist in the context folder; restore it or remove the ATTACH` };
  }
  if (!real.startsWith(folder + path.sep)) {
    // The target is not named: it may be another tenant's file, and this message reaches
    // the context's users (status reasons); `ls -l` shows it to whoever may see it.
    return { ok: false, message: `"${relativePath}" is a link to a file outside the context folder; attach only databases inside it` };
  }
  const base = path.basename(real);
  if (base === AUTO_DB_FILE || base.startsWith(`${AUTO_DB_FILE}.`)) {
    return { ok: false, message: `"${relativePath}" is the composite itself; attach the source databases instead` };
  }
  if (!fs.statSync(real).isFile()) {
    return { ok: false, message: `"${relativePath}" is not a regular file` };
  }
  return { ok: true, absolutePath: real };
}

/** Resolves every ATTACH of a plan; each refusal is a problem at its ATTACH statement. */
export function resolveAttachTargets(plan: CompositePlan, contextDir: string): { targets: ResolvedAttachment[]; problems: CompositeProblem[] } {
  const targets: ResolvedAttachment[] = [];
  const problems: CompositeProblem[] = [];
  for (const attachment of plan.attachments) {
    const resolved = resolveAttachPath(contextDir, attachment.path);
    if (resolved.ok) targets.push({ name: attachment.name, path: attachment.path, absolutePath: resolved.absolutePath });
    else problems.push({ ...attachment.location, message: `ATTACH ${attachment.name}: ${resolved.message}` });
  }
  return { targets, problems };
}
