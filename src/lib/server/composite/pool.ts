import fs from 'node:fs';
import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { attachmentsUnchanged, connectComposite, fileIdentity, sameIdentity, type CompositeConnection, type ConnectOptions } from './connect.ts';

export interface PoolOptions extends ConnectOptions {
  /** Most file descriptors the pool's connections may hold together (TRUTH_YARD_FD_BUDGET); unbounded when absent. */
  fdBudget?: number;
}

/**
 * File descriptors a connection holds: its auto.db, and each attached database with, in WAL
 * mode, its -wal and -shm files (counted whether or not SQLite has opened them yet).
 */
function descriptorsOf(connection: CompositeConnection): number {
  return 1 + connection.attached.reduce((sum, { file }) => sum + (fs.existsSync(`${file}-wal`) ? 3 : 1), 0);
}

/** Whether this process has no file descriptor left right now (EMFILE). */
function outOfDescriptors(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/null', 'r'));
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EMFILE' || (error as NodeJS.ErrnoException).code === 'ENFILE';
  }
}

/**
 * Keeps one read-only connection per context, least recently used first out, so a volume
 * of thousands of tenants does not hold thousands of open files. A connection whose auto.db
 * was replaced by a regeneration, or whose attached files vanished, were replaced or shrank,
 * is reopened on its next use (a stat per file per acquire).
 *
 * Connections are bounded by count (TRUTH_YARD_CONNECTION_CACHE) and by the file
 * descriptors they hold together (TRUTH_YARD_FD_BUDGET, by default half of what the process
 * may open, leaving the rest to sockets and logs): the least recently used close first. If
 * the process runs out of descriptors anyway, half the pool is closed and the open retried.
 */
export class CompositePool {
  readonly #connections = new Map<string, CompositeConnection>();
  readonly #descriptors = new Map<CompositeConnection, number>();
  /** Connections evicted while a statement was still iterating; closed once it is done. */
  readonly #retiring = new Set<CompositeConnection>();

  constructor(
    readonly volumeDir: string,
    readonly capacity: number,
    readonly options: PoolOptions = {},
  ) {}

  /** A ready connection for a context name; throws UnknownContextError or CompositeUnavailableError. */
  acquire(contextName: string): CompositeConnection {
    this.#closeRetired();
    const context = resolveContext(this.volumeDir, contextName);
    const autoDb = autoDbPath(context);
    const cached = this.#connections.get(contextName);
    if (cached) {
      this.#connections.delete(contextName);
      if (sameIdentity(cached.identity, fileIdentity(autoDb)) && attachmentsUnchanged(cached)) {
        this.#connections.set(contextName, cached);
        return cached;
      }
      this.#retire(cached);
    }
    let connection: CompositeConnection;
    try {
      connection = connectComposite(context.name, context.dir, autoDb, this.options);
    } catch (error) {
      if (this.#connections.size === 0 || !outOfDescriptors()) throw error;
      this.#closeOldest(Math.ceil(this.#connections.size / 2));
      connection = connectComposite(context.name, context.dir, autoDb, this.options);
    }
    this.#connections.set(contextName, connection);
    this.#descriptors.set(connection, descriptorsOf(connection));
    const budget = this.options.fdBudget ?? Infinity;
    while (this.#connections.size > this.capacity || (this.#connections.size > 1 && this.descriptors > budget)) this.#closeOldest(1);
    return connection;
  }

  /** File descriptors the open connections hold (see descriptorsOf). */
  get descriptors(): number {
    let sum = 0;
    for (const count of this.#descriptors.values()) sum += count;
    return sum;
  }

  #closeOldest(count: number): void {
    for (let i = 0; i < count && this.#connections.size > 0; i += 1) {
      const [oldestName, oldest] = this.#connections.entries().next().value!;
      this.#connections.delete(oldestName);
      this.#retire(oldest);
    }
  }

  /** Drops a context's connection, e.g. after its composite was regenerated or removed. */
  forget(contextName: string): void {
    const cached = this.#connections.get(contextName);
    if (!cached) return;
    this.#connections.delete(contextName);
    this.#retire(cached);
  }

  get size(): number {
    return this.#connections.size;
  }

  closeAll(): void {
    for (const connection of this.#connections.values()) this.#retire(connection);
    this.#connections.clear();
    this.#closeRetired();
  }

  #retire(connection: CompositeConnection): void {
    this.#retiring.add(connection);
    this.#closeRetired();
  }

  #closeRetired(): void {
    for (const connection of this.#retiring) {
      try {
        connection.db.close();
        this.#retiring.delete(connection);
        this.#descriptors.delete(connection);
      } catch {
        // Busy with a streaming export; tried again on the next acquire.
      }
    }
  }
}
