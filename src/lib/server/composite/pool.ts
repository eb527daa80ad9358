import fs from 'node:fs';
import { ProblemError } from '../core/errors.ts';
import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { attachmentsUnchanged, connectComposite, fileIdentity, sameIdentity, type CompositeConnection, type ConnectOptions } from './connect.ts';

export interface PoolOptions extends ConnectOptions {
  /** Most file descriptors the pool's connections may hold together (its share of TRUTH_YARD_FD_BUDGET, see descriptorShares); unbounded when absent. */
  fdBudget?: number;
}

/**
 * Most descriptors one composite connection can hold: its auto.db and at most 10 attached
 * databases (SQLITE_MAX_ATTACHED), each with a -wal and a -shm file.
 */
const MOST_DESCRIPTORS_PER_CONNECTION = 1 + 10 * 3;

/** How TRUTH_YARD_FD_BUDGET is shared by the processes that keep composite connections. */
export interface DescriptorShares {
  /** The server's pool, together with what it lends the query processes it starts (ad-hoc SQL, exports) while they run. */
  server: number;
  /** The pool of each read process (TRUTH_YARD_QUERY_PROCESSES of them). */
  readProcess: number;
}

/**
 * One budget for every composite connection of the server and its children, split once at
 * start and told to each: a read process gets one part, the server what is left (two parts or
 * more), because it also lends descriptors to the ad-hoc SQL and export processes. A killed
 * read process's spare takes its place, so no more than `readProcesses` hold connections at
 * once. Each pool closes its least recently used connections to stay within its share.
 * Regeneration, health checks and analytics refreshes open one composite at a time and close
 * it; they, sockets, logs and pipes use the rest of the open-file limit the budget leaves.
 */
export function descriptorShares(total: number, readProcesses: number): DescriptorShares {
  const part = Math.floor(total / (readProcesses + 2));
  return { server: total - part * readProcesses, readProcess: part };
}

/** The budget has no room for another ad-hoc statement's or export's connection while others hold theirs. */
export class DescriptorBudgetError extends ProblemError {
  override readonly retryAfterSeconds = 1;

  constructor() {
    super('descriptor_budget', 'Too many downloads and SQL queries hold databases open right now (TRUTH_YARD_FD_BUDGET); try again in a moment.', 503);
  }
}

/**
 * File descriptors a connection holds: its auto.db, and each attached database with, in WAL
 * mode, its -wal and -shm files (counted whether or not SQLite has opened them yet).
 */
function descriptorsOf(connection: CompositeConnection): number {
  return 1 + connection.attached.reduce((sum, { file }) => sum + (fs.existsSync(`${file}-wal`) ? 3 : 1), 0);
}

/**
 * What a connection to a context not open here would hold, at most: composites attach only
 * files inside their context's folder, so its auto.db and every other file there (not a
 * journal, -wal or -shm), each with a -wal and -shm when it has a -wal. A readdir, no open.
 */
function descriptorsOfFolder(dir: string): number {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return MOST_DESCRIPTORS_PER_CONNECTION;
  }
  const names = new Set(entries);
  let count = 0;
  for (const name of entries) {
    if (/-(wal|shm|journal)$/.test(name) || name.endsWith('.sql') || name.includes('.tmp-')) continue;
    count += names.has(`${name}-wal`) ? 3 : 1;
  }
  return Math.min(MOST_DESCRIPTORS_PER_CONNECTION, Math.max(1, count));
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
 * descriptors they hold together with what the pool lent (its share of TRUTH_YARD_FD_BUDGET,
 * see descriptorShares): the least recently used close first. If the process runs out of
 * descriptors anyway, half the pool is closed and the open retried.
 */
export class CompositePool {
  readonly #connections = new Map<string, CompositeConnection>();
  readonly #descriptors = new Map<CompositeConnection, number>();
  /** Connections evicted while a statement was still iterating; closed once it is done. */
  readonly #retiring = new Set<CompositeConnection>();
  /** Descriptors lent to connections of other processes (see lend), counted against this pool's budget while they are open. */
  #lent = 0;

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
    this.#fit(1);
    return connection;
  }

  /** Closes least recently used connections, keeping at least `keep`, until the pool is within its count and its budget less what it lent. */
  #fit(keep: number): void {
    const budget = this.options.fdBudget ?? Infinity;
    while (this.#connections.size > this.capacity || (this.#connections.size > keep && this.descriptors + this.#lent > budget)) this.#closeOldest(1);
  }

  /**
   * Takes from this pool's budget the descriptors a process started for one read of a context
   * (an ad-hoc statement, an export) will hold: its own connection's count when this pool has
   * that context open, else the most its folder's files can take. The least recently used of this
   * pool's connections close to make room. With others lent already and no room left, it throws
   * DescriptorBudgetError (503, retry); the first is always lent, as the pool always keeps the
   * connection in use. Call the answer once the process has ended.
   */
  lend(contextName: string): () => void {
    const cached = this.#connections.get(contextName);
    const count = (cached && this.#descriptors.get(cached)) ?? descriptorsOfFolder(resolveContext(this.volumeDir, contextName).dir);
    if (this.#lent > 0 && this.#lent + count > (this.options.fdBudget ?? Infinity)) throw new DescriptorBudgetError();
    this.#lent += count;
    this.#fit(0);
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      this.#lent -= count;
    };
  }

  /** Descriptors lent to other processes' connections now. */
  get lent(): number {
    return this.#lent;
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
