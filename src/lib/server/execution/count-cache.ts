import { LRUCache } from 'lru-cache';
import { QueryTimeoutError } from '../query/run.ts';
import { isBusyProblem } from '../composite/connect.ts';

/** How long a count that failed in a read process (past its deadline, a locked database) is not tried again for the same data. */
export const RETRY_FAILED_AFTER_MS = 60_000;

type Entry<T> = { version: string; value: T } | { version: string; failure: unknown; at: number };

/**
 * Counts (a listing's rows, a facet's values), kept until a database they were counted from
 * changes, and counted once however many requests ask at the same time. A count reads every
 * row the filters select (a facet is a GROUP BY over them: about 300 ms over 1,000,000 rows
 * here) while its answer is a number or a few values: the page beside it, cheap to read
 * again, may be left to TRUTH_YARD_RESULT_CACHE_MB, while its counts stay counted
 * (TRUTH_YARD_COUNT_CACHE_ENTRIES, TRUTH_YARD_FACET_CACHE_ENTRIES). A count that a read
 * process answered with a failure (past its deadline, its database locked) is not started
 * again for the same data for a minute, so a count too big for its deadline does not keep
 * the read processes, which every tenant shares, busy for every request that asks.
 */
export class CountCache<T> {
  readonly #entries: LRUCache<string, Entry<T>> | null;
  readonly #counting = new Map<string, Promise<T>>();

  constructor(
    maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : null;
  }

  /** Whether a value counted at data version `version` is kept for `key` (for the reuse metric). */
  holds(key: string, version: string): boolean {
    const kept = this.#entries?.peek(key);
    return kept?.version === version && 'value' in kept;
  }

  /**
   * The value kept for `key` at data version `version`, or the one `count` gives. A request
   * arriving while the same count runs waits for it rather than starting another.
   */
  get(key: string, version: string, count: () => Promise<T>): Promise<T> {
    const kept = this.#entries?.get(key);
    if (kept?.version === version) {
      if ('value' in kept) return Promise.resolve(kept.value);
      if (this.now() - kept.at < RETRY_FAILED_AFTER_MS) return Promise.reject(kept.failure);
    }
    if (!this.#entries) return count();
    const flightKey = `${version}\0${key}`;
    let counting = this.#counting.get(flightKey);
    if (!counting) {
      counting = count()
        .then(
          (value) => {
            this.#entries?.set(key, { version, value });
            return value;
          },
          (failure: unknown) => {
            // What a read process answers for a count too big or a database locked for long;
            // anything else (a lock met on this thread, a fault) is tried again by the next request.
            if (failure instanceof QueryTimeoutError || isBusyProblem(failure)) this.#entries?.set(key, { version, failure, at: this.now() });
            throw failure;
          },
        )
        .finally(() => this.#counting.delete(flightKey));
      this.#counting.set(flightKey, counting);
    }
    return counting;
  }
}
