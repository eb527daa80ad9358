import { LRUCache } from 'lru-cache';

interface Entry {
  /** The data version (see versions.ts) of the connection when the value was read. */
  version: string;
  value: unknown;
  bytes: number;
}

/** Roughly how much memory a value of rows holds: string characters, numbers, blobs. */
export function approximateBytes(value: unknown): number {
  if (typeof value === 'string') return 2 * value.length + 16;
  if (value === null || typeof value !== 'object') return 8;
  if (Buffer.isBuffer(value)) return value.length + 16;
  let bytes = 16;
  for (const [key, item] of Object.entries(value)) bytes += key.length + approximateBytes(item);
  return bytes;
}

/**
 * Browse pages and row counts read from composites, kept until one of the databases they
 * were read from changes. Every entry carries the data version it was read at, and a
 * lookup under any other version misses, so nothing stale is ever served: an evidence
 * writer's commit invalidates what it touched on the next request. Least recently used
 * entries go first once the size limit (TRUTH_YARD_RESULT_CACHE_MB) is reached.
 */
export class ResultCache {
  readonly #entries: LRUCache<string, Entry> | null;

  constructor(maxBytes: number) {
    this.#entries = maxBytes > 0 ? new LRUCache<string, Entry>({ maxSize: maxBytes, sizeCalculation: (entry) => entry.bytes }) : null;
  }

  get<T>(key: string, version: string): T | undefined {
    const entry = this.#entries?.get(key);
    return entry?.version === version ? (entry.value as T) : undefined;
  }

  set(key: string, version: string, value: unknown): void {
    // With reuse off nothing is kept, so nothing is measured (a walk of every row).
    if (!this.#entries) return;
    const bytes = approximateBytes(value) + 2 * key.length;
    // A value larger than the whole cache would be refused by the LRU anyway.
    if (bytes <= this.#entries.maxSize) this.#entries.set(key, { version, value, bytes });
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }
}
