import type { Settings } from '../core/config.ts';
import type { ConsoleStore } from './database.ts';
import { logger } from '../core/log.ts';

export type HistoryRetention = Pick<Settings, 'historyDays' | 'historyPerContext' | 'slowQueryKeep'>;

export interface PruneCounts {
  regenerations: number;
  healthRuns: number;
  slowQueries: number;
  sessions: number;
}

/**
 * Regeneration and health rows removed per statement. An hourly `yard health --all` over
 * ten thousand tenants leaves ten thousand runs to remove each hour: one statement held the
 * event loop, and the store's write lock, for about three quarters of a second; a batch
 * takes a few tens of milliseconds.
 */
const HISTORY_BATCH = 250;
/**
 * Contexts whose history is looked through between two turns of the event loop: finding
 * what is beyond retention in one statement over every context's runs took some 0.9 s at
 * two million runs; a hundred contexts of 200 runs each, a few milliseconds.
 */
const CONTEXTS_PER_TURN = 100;

/**
 * Removes what the console store would otherwise keep for ever: regenerations and health
 * runs beyond the newest TRUTH_YARD_HISTORY_PER_CONTEXT of a context or older than
 * TRUTH_YARD_HISTORY_DAYS (the newest of each context is always kept: the contexts page
 * shows it), slow-query entries beyond TRUTH_YARD_SLOW_QUERY_KEEP or older than the same
 * days, and expired sessions. History is looked through a context at a time (from its index
 * alone) and removed HISTORY_BATCH rows at a time, with `between` awaited (a turn of the
 * event loop) before each batch and every CONTEXTS_PER_TURN contexts; a row found beyond
 * retention stays beyond it, whatever is recorded meanwhile.
 */
export async function pruneHistory(
  db: ConsoleStore,
  retention: HistoryRetention,
  now = new Date(),
  between: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<PruneCounts> {
  const cutoff = new Date(now.getTime() - retention.historyDays * 24 * 60 * 60 * 1000).toISOString();
  const counts: PruneCounts = {
    regenerations: 0,
    healthRuns: 0,
    slowQueries: db.prepare('DELETE FROM slow_queries WHERE at < ? OR id NOT IN (SELECT id FROM slow_queries ORDER BY at DESC, id DESC LIMIT ?)').run(cutoff, retention.slowQueryKeep).changes,
    sessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(Math.floor(now.getTime() / 1000)).changes,
  };
  for (const [table, time, kind] of [['regenerations', 'finished_at', 'regenerations'], ['health_runs', 'at', 'healthRuns']] as const) {
    const nextContext = db.prepare(`SELECT min(context) FROM ${table} WHERE context > ?`).pluck();
    const beyondRetention = db
      .prepare(
        `SELECT id FROM (SELECT id, ${time} AS t, row_number() OVER (ORDER BY ${time} DESC, id DESC) AS newest FROM ${table} WHERE context = ?)
         WHERE newest > 1 AND (newest > ? OR t < ?)`,
      )
      .pluck();
    const remove = db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`);
    let found: number[] = [];
    const removeFound = async () => {
      for (let from = 0; from < found.length; from += HISTORY_BATCH) {
        await between();
        counts[kind] += remove.run(JSON.stringify(found.slice(from, from + HISTORY_BATCH))).changes;
      }
      found = [];
    };
    let looked = 0;
    for (let context = nextContext.get('') as string | null; context !== null; context = nextContext.get(context) as string | null) {
      found.push(...(beyondRetention.all(context, retention.historyPerContext, cutoff) as number[]));
      if (++looked % CONTEXTS_PER_TURN === 0) await (found.length > 0 ? removeFound() : between());
    }
    await removeFound();
  }
  return counts;
}

/** How often a running server prunes. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** The first pruning waits this long after start, out of the way of start-up work. */
const FIRST_PRUNE_AFTER_MS = 30_000;
let started = false;

/** Prunes soon after the server starts and then every hour; the timers never keep the process alive. */
export function startRetention(storeOf: () => ConsoleStore, retention: HistoryRetention): void {
  if (started) return;
  started = true;
  const prune = async () => {
    try {
      const counts = await pruneHistory(storeOf(), retention);
      logger.info({ pruned: counts }, 'history pruned');
    } catch (error) {
      logger.error({ err: error }, 'history pruning failed; it is tried again in an hour');
    }
  };
  setTimeout(prune, FIRST_PRUNE_AFTER_MS).unref();
  setInterval(prune, PRUNE_EVERY_MS).unref();
}
