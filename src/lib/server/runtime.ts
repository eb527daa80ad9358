import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import { getSettings, type Settings } from './config.ts';
import { CompositePool } from './composite/pool.ts';
import type { CompositeConnection } from './composite/connect.ts';
import { resolveContext, type VolumeContext } from './volume/contexts.ts';
import { contextPath } from './routes.ts';
import { getConsoleStore } from './store/database.ts';
import type { OperationsScope } from './operations.ts';

/**
 * The long-lived pieces of one server process, created on first use: settings, the
 * console store and the composite connection pool. Pages and endpoints reach the volume
 * only through these.
 */
export interface ConsoleRuntime {
  settings: Settings;
  /** The served volume (settings.volumeDir), so the runtime is itself an operations scope for reads. */
  volumeDir: string;
  store: Database.Database;
  pool: CompositePool;
  /** Signs browse cursors; a restart invalidates old cursors, which then say so. */
  cursorSecret: Buffer;
  /** The scope for operations run on behalf of `actor`, wired to drop stale connections. */
  scopeFor(actor: string): OperationsScope;
}

/**
 * A route's composite, ready to use: the context is known to exist and the user to be
 * allowed; the connection is opened on first use, so a page that only shows status still
 * works while the composite itself cannot be opened.
 */
export interface CompositeHandle {
  context: VolumeContext;
  /** URL prefix of the context's pages: `admin`, `cross-tenant`, `tenants/<id>`. */
  ctxPath: string;
  connection(): CompositeConnection;
}

/** Throws UnknownContextError when the volume has no such context. */
export function compositeHandle(contextName: string): CompositeHandle {
  const { settings, pool } = getRuntime();
  const context = resolveContext(settings.volumeDir, contextName);
  return { context, ctxPath: contextPath(context.name), connection: () => pool.acquire(context.name) };
}

let runtime: ConsoleRuntime | undefined;

export function getRuntime(): ConsoleRuntime {
  if (!runtime) {
    const settings = getSettings();
    const store = getConsoleStore();
    const pool = new CompositePool(settings.volumeDir, settings.connectionCacheSize);
    runtime = {
      settings,
      volumeDir: settings.volumeDir,
      store,
      pool,
      cursorSecret: crypto.randomBytes(32),
      scopeFor: (actor) => ({ volumeDir: settings.volumeDir, store, actor, onRegenerated: (name) => pool.forget(name) }),
    };
  }
  return runtime;
}
