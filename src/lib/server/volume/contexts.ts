import fs from 'node:fs';
import path from 'node:path';
import { NOT_FOUND_MESSAGE, ProblemError } from '../core/errors.ts';

/** The human-written definition of a context's composite. */
export const COMPOSITE_SQL_FILE = 'composite.sql';
/** The derived, disposable composite database regenerated from composite.sql. */
export const AUTO_DB_FILE = 'composite.sqlite.auto.db';
/** Attachable databases end with this suffix. */
export const DATABASE_SUFFIX = '.sqlite.db';

export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export type ContextKind = 'admin' | 'cross-tenant' | 'tenant';

/**
 * A context name taken apart: `admin`, `cross-tenant` or `tenant/<id>`; null for any other
 * text (`tenant/../admin`, `tenant/`, `Admin`). The one place that reads a context name.
 */
export function parseContextName(name: string): { kind: ContextKind; tenantId: string | null } | null {
  if (name === 'admin' || name === 'cross-tenant') return { kind: name, tenantId: null };
  const tenantId = name.startsWith('tenant/') ? name.slice('tenant/'.length) : null;
  return tenantId !== null && TENANT_ID_PATTERN.test(tenantId) ? { kind: 'tenant', tenantId } : null;
}

/** One folder of the volume that has a composite: `admin`, `cross-tenant` or `tenant/<id>`. */
export interface VolumeContext {
  /** The name used everywhere (CLI, API, logs): `admin`, `cross-tenant`, `tenant/<id>`. */
  name: string;
  kind: ContextKind;
  tenantId: string | null;
  /** Absolute path of the context folder. */
  dir: string;
}

export interface InvalidContextFolder {
  folder: string;
  reason: string;
}

export interface VolumeScan {
  contexts: VolumeContext[];
  invalid: InvalidContextFolder[];
}

/**
 * A context name the volume does not have, or one that is not well formed. The web says
 * only "not found", exactly as for a context the user may not see; the message (which may
 * name folders) is for the command line.
 */
export class UnknownContextError extends ProblemError {
  constructor(
    readonly contextName: string,
    message: string,
  ) {
    super('not_found', message, 404);
  }

  override get publicMessage(): string {
    return NOT_FOUND_MESSAGE;
  }
}

function embeddedDir(volumeDir: string): string {
  return path.join(volumeDir, 'embedded');
}

function isDirectory(p: string): boolean {
  try {
    return fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

function tenantContext(volumeDir: string, tenantId: string): VolumeContext {
  return {
    name: `tenant/${tenantId}`,
    kind: 'tenant',
    tenantId,
    dir: path.join(embeddedDir(volumeDir), 'tenant', tenantId),
  };
}

/** Lists the contexts of a volume in a stable order: admin, cross-tenant, then tenants by id. */
export function scanVolume(volumeDir: string): VolumeScan {
  const root = embeddedDir(volumeDir);
  if (!isDirectory(root)) {
    throw new UnknownContextError('', `No volume at ${volumeDir}: expected a folder ${root}. Set TRUTH_YARD_VOLUME to a volume folder.`);
  }
  const contexts: VolumeContext[] = [];
  const invalid: InvalidContextFolder[] = [];
  for (const kind of ['admin', 'cross-tenant'] as const) {
    const dir = path.join(root, kind);
    if (isDirectory(dir)) contexts.push({ name: kind, kind, tenantId: null, dir });
  }
  const tenantsDir = path.join(root, 'tenant');
  if (isDirectory(tenantsDir)) {
    const entries = fs.readdirSync(tenantsDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const folder = path.join(tenantsDir, entry.name);
      if (!entry.isDirectory()) {
        if (!entry.isFile()) invalid.push({ folder, reason: 'not a folder (symbolic links are not followed)' });
        continue;
      }
      if (!TENANT_ID_PATTERN.test(entry.name)) {
        invalid.push({
          folder,
          reason: `"${entry.name}" is not a valid tenant id: use 1 to 64 letters, digits, "_" or "-", starting with a letter or digit`,
        });
        continue;
      }
      contexts.push(tenantContext(volumeDir, entry.name));
    }
  }
  return { contexts, invalid };
}

/**
 * Finds a context by name without listing the whole volume. Anything that is not a
 * well-formed name of an existing folder is an UnknownContextError, so a crafted name
 * (`tenant/../admin`, `tenant/%2e%2e`) can never reach a path outside the volume.
 */
export function resolveContext(volumeDir: string, name: string): VolumeContext {
  const parsed = parseContextName(name);
  if (!parsed) {
    throw new UnknownContextError(name, `"${name}" is not a context name: use admin, cross-tenant or tenant/<id>`);
  }
  const context: VolumeContext = parsed.tenantId !== null ? tenantContext(volumeDir, parsed.tenantId) : { name, kind: parsed.kind, tenantId: null, dir: path.join(embeddedDir(volumeDir), name) };
  if (!isDirectory(context.dir)) {
    throw new UnknownContextError(name, `No context "${name}" in this volume (no folder ${context.dir})`);
  }
  return context;
}

/** File names of the attachable databases in a context folder, sorted. */
export function listDatabaseFiles(context: VolumeContext): string[] {
  return fs
    .readdirSync(context.dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(DATABASE_SUFFIX) && entry.name !== AUTO_DB_FILE)
    .map((entry) => entry.name)
    .sort();
}

export function compositeSqlPath(context: VolumeContext): string {
  return path.join(context.dir, COMPOSITE_SQL_FILE);
}

export function autoDbPath(context: VolumeContext): string {
  return path.join(context.dir, AUTO_DB_FILE);
}
