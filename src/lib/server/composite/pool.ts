import { autoDbPath, resolveContext } from '../volume/contexts.ts';
import { attachmentsUnchanged, connectComposite, fileIdentity, sameIdentity, type CompositeConnection, type ConnectOptions } from './connect.ts';

/**
 * Keeps one read-only connection per context, least recently used first out, so a volume
 * of thousands of tenants does not hold thousands of open files. A connection whose auto.db
 * was replaced by a regeneration, or whose attached files vanished, were replaced or shrank,
 * is reopened on its next use (a stat per file per acquire).
 */
export class CompositePool {
  readonly #connections = new Map<string, CompositeConnection>();
  /** Connections evicted while a statement was still iterating; closed once it is done. */
  readonly #retiring = new Set<CompositeConnection>();

  constructor(
    readonly volumeDir: string,
    readonly capacity: number,
    readonly connectOptions: ConnectOptions = {},
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
    const connection = connectComposite(context.name, context.dir, autoDb, this.connectOptions);
    this.#connections.set(contextName, connection);
    while (this.#connections.size > this.capacity) {
      const [oldestName, oldest] = this.#connections.entries().next().value!;
      this.#connections.delete(oldestName);
      this.#retire(oldest);
    }
    return connection;
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
      } catch {
        // Busy with a streaming export; tried again on the next acquire.
      }
    }
  }
}
