import { storeVersion, type ConsoleStore } from './database.ts';
import { latestRegeneration, type RegenerationRecord } from './regenerations.ts';
import { healthHistory, type HealthRunRecord } from './health-runs.ts';
import type { HealthReport } from '../composite/health.ts';

export interface LatestRuns {
  regeneration: RegenerationRecord | null;
  health: HealthRunRecord<HealthReport> | null;
}

/** Contexts whose latest runs are kept per console store; beyond this many, the oldest read is dropped. */
const KEPT_CONTEXTS = 2_000;

const keptByStore = new WeakMap<ConsoleStore, { version: string; runs: Map<string, LatestRuns> }>();

/**
 * The latest regeneration and health run of a context, as a list shows them: read once per
 * context and kept until the console store changes (two statements each for a page of a
 * hundred contexts were two hundred statements, and a hundred health reports parsed, per
 * request). One look at the store's version per call of this function.
 */
export function latestRunsReader(db: ConsoleStore): (context: string) => LatestRuns {
  const version = storeVersion(db);
  let kept = keptByStore.get(db);
  if (kept?.version !== version) {
    kept = { version, runs: new Map() };
    keptByStore.set(db, kept);
  }
  const { runs } = kept;
  return (context) => {
    let found = runs.get(context);
    if (!found) {
      found = { regeneration: latestRegeneration(db, context), health: healthHistory<HealthReport>(db, context, 1)[0] ?? null };
      if (runs.size >= KEPT_CONTEXTS) runs.delete(runs.keys().next().value!);
      runs.set(context, found);
    }
    return found;
  };
}
